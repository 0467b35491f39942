package harness

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// pollInterval is how often WaitExecution asks: moto runs a state in
// milliseconds.
const pollInterval = 20 * time.Millisecond

// WaitExecution polls an execution until it is no longer RUNNING or ctx
// ends, and returns its last description.
func WaitExecution(ctx context.Context, client *sfn.Client, executionARN string) (*sfn.DescribeExecutionOutput, error) {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		out, err := client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(executionARN)})
		if err != nil {
			return nil, fmt.Errorf("describe execution %s: %w", executionARN, err)
		}
		if out.Status != sfntypes.ExecutionStatusRunning && out.Status != sfntypes.ExecutionStatusPendingRedrive {
			return out, nil
		}
		select {
		case <-ctx.Done():
			return out, fmt.Errorf("execution %s still %s: %w", executionARN, out.Status, ctx.Err())
		case <-tick.C:
		}
	}
}

// History renders an execution's events, one line each, for failure
// messages and the demo.
func History(ctx context.Context, client *sfn.Client, executionARN string) (string, error) {
	events, err := HistoryEvents(ctx, client, executionARN)
	var b strings.Builder
	for _, e := range events {
		fmt.Fprintf(&b, "%3d %-28s", e.Id, e.Type)
		switch {
		case e.StateEnteredEventDetails != nil:
			fmt.Fprintf(&b, " %s", aws.ToString(e.StateEnteredEventDetails.Name))
		case e.TaskFailedEventDetails != nil:
			fmt.Fprintf(&b, " %s: %s", aws.ToString(e.TaskFailedEventDetails.Error), aws.ToString(e.TaskFailedEventDetails.Cause))
		case e.ExecutionFailedEventDetails != nil:
			fmt.Fprintf(&b, " %s: %s", aws.ToString(e.ExecutionFailedEventDetails.Error), aws.ToString(e.ExecutionFailedEventDetails.Cause))
		}
		b.WriteByte('\n')
	}
	return b.String(), err
}

// HistoryEvents returns an execution's whole event history.
func HistoryEvents(ctx context.Context, client *sfn.Client, executionARN string) ([]sfntypes.HistoryEvent, error) {
	var out []sfntypes.HistoryEvent
	p := sfn.NewGetExecutionHistoryPaginator(client, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(executionARN)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return out, err
		}
		out = append(out, page.Events...)
	}
	return out, nil
}
