package asff

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/ecslogfix/ecslogfix/internal/history"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
)

// Importer is the part of the Security Hub API a member account's
// findings are imported with.
type Importer interface {
	BatchImportFindings(ctx context.Context, in *securityhub.BatchImportFindingsInput, optFns ...func(*securityhub.Options)) (*securityhub.BatchImportFindingsOutput, error)
}

// Annotator is the part of the Security Hub API the administrator account
// annotates AWS's findings with.
type Annotator interface {
	GetFindings(ctx context.Context, in *securityhub.GetFindingsInput, optFns ...func(*securityhub.Options)) (*securityhub.GetFindingsOutput, error)
	BatchUpdateFindings(ctx context.Context, in *securityhub.BatchUpdateFindingsInput, optFns ...func(*securityhub.Options)) (*securityhub.BatchUpdateFindingsOutput, error)
}

// ECS9 is the Security Hub control "ECS task definitions should have a
// logging configuration".
const ECS9 = "ECS.9"

// maxBatch is BatchImportFindings' and BatchUpdateFindings' limit.
const maxBatch = 100

// Publisher imports the findings of history changes from the account each
// task definition lives in (Import gives its client: the member role in
// organization mode), and, with Annotate, adds a note to AWS's ECS.9
// findings of a remediated or backed-out revision from the administrator
// account.
type Publisher struct {
	Import    func(account, region string) (Importer, error)
	Annotate  func(region string) (Annotator, error) // nil: no notes
	Partition string
	Now       func() time.Time
	Logger    *slog.Logger
}

// Publish implements history.Publisher.
func (p *Publisher) Publish(ctx context.Context, changes []history.Change) error {
	now := time.Now()
	if p.Now != nil {
		now = p.Now()
	}
	type scope struct{ account, region string }
	batches := map[scope][]types.AwsSecurityFinding{}
	var order []scope
	for _, c := range changes {
		s := scope{c.After.Account, c.After.Region}
		fs := Findings(c, p.Partition, now)
		for _, f := range fs {
			if err := Validate(f); err != nil {
				return fmt.Errorf("finding %s: %w", aws.ToString(f.Id), err)
			}
		}
		if len(fs) > 0 && !slices.Contains(order, s) {
			order = append(order, s)
		}
		batches[s] = append(batches[s], fs...)
	}
	for _, s := range order {
		c, err := p.Import(s.account, s.region)
		if err != nil {
			return fmt.Errorf("security hub client for %s/%s: %w", s.account, s.region, err)
		}
		for batch := range slices.Chunk(batches[s], maxBatch) {
			out, err := c.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: batch})
			var denied *types.InvalidAccessException
			switch {
			case errors.As(err, &denied):
				// Security Hub is not enabled in this account and region:
				// the history still holds the decision.
				p.logger().Warn("findings not imported: Security Hub is not enabled", "account", s.account, "region", s.region, "error", err.Error())
				continue
			case err != nil:
				return fmt.Errorf("import findings in %s/%s: %w", s.account, s.region, err)
			case aws.ToInt32(out.FailedCount) > 0:
				f := out.FailedFindings[0]
				return fmt.Errorf("import findings in %s/%s: %d failed, first %s: %s %s", s.account, s.region, aws.ToInt32(out.FailedCount),
					aws.ToString(f.Id), aws.ToString(f.ErrorCode), aws.ToString(f.ErrorMessage))
			}
		}
	}
	if p.Annotate == nil {
		return nil
	}
	for _, c := range changes {
		if err := p.annotate(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

func (p *Publisher) logger() *slog.Logger { return cmp.Or(p.Logger, slog.Default()) }

// Note is the note on AWS's ECS.9 finding of the revision a change is
// about, or "" when it adds none.
func Note(c history.Change) string {
	r := c.Record
	switch r.Decision {
	case history.DecisionRemediated:
		if r.NewARN == "" || r.Outcome != workflow.OutcomeRemediated {
			return ""
		}
		return clip(fmt.Sprintf("ecslogfix registered the compliant revision %s from this one on %s. Back it out with: ecslogfix backout --task-definition %s --region %s",
			r.NewARN, r.Time.Format(time.DateOnly), r.NewARN, r.Region), maxText)
	case history.DecisionBackedOut:
		return clip(fmt.Sprintf("ecslogfix's revision %s was backed out on %s; this revision is exempt until %s.", r.NewARN, r.Time.Format(time.DateOnly), c.After.ExemptUntil), maxText)
	}
	return ""
}

// annotate notes the change on the ECS.9 findings of its revision.
func (p *Publisher) annotate(ctx context.Context, c history.Change) error {
	text := Note(c)
	if text == "" {
		return nil
	}
	a, err := p.Annotate(c.Record.Region)
	if err != nil {
		return fmt.Errorf("security hub administrator client for %s: %w", c.Record.Region, err)
	}
	eq := func(v string) []types.StringFilter {
		return []types.StringFilter{{Comparison: types.StringFilterComparisonEquals, Value: aws.String(v)}}
	}
	var ids []types.AwsSecurityFindingIdentifier
	pages := securityhub.NewGetFindingsPaginator(a, &securityhub.GetFindingsInput{Filters: &types.AwsSecurityFindingFilters{
		ComplianceSecurityControlId: eq(ECS9),
		ResourceId:                  eq(c.Record.TaskDefinitionARN),
		AwsAccountId:                eq(c.Record.Account),
		RecordState:                 eq(string(types.RecordStateActive)),
	}})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("get ECS.9 findings of %s: %w", c.Record.TaskDefinitionARN, err)
		}
		for _, f := range page.Findings {
			ids = append(ids, types.AwsSecurityFindingIdentifier{Id: f.Id, ProductArn: f.ProductArn})
		}
	}
	for batch := range slices.Chunk(ids, maxBatch) {
		out, err := a.BatchUpdateFindings(ctx, &securityhub.BatchUpdateFindingsInput{
			FindingIdentifiers: batch,
			Note:               &types.NoteUpdate{Text: aws.String(text), UpdatedBy: aws.String("ecslogfix")},
		})
		if err != nil {
			return fmt.Errorf("note ECS.9 findings of %s: %w", c.Record.TaskDefinitionARN, err)
		}
		if n := len(out.UnprocessedFindings); n > 0 {
			u := out.UnprocessedFindings[0]
			return fmt.Errorf("note ECS.9 findings of %s: %d unprocessed, first %s: %s", c.Record.TaskDefinitionARN, n, aws.ToString(u.FindingIdentifier.Id), aws.ToString(u.ErrorMessage))
		}
	}
	return nil
}
