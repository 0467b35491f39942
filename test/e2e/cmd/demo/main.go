// Command demo shows ecslogfix working, offline, on this machine: it
// synthesizes the single-account stack, starts it on loopback (moto for
// the AWS APIs and the state machine, each function's real bootstrap under
// the Lambda Runtime Interface Emulator), registers a few non-compliant
// task definitions as different users would, delivers their CloudTrail
// events through the synthesized EventBridge rule, lets the pipeline fix
// them and prints what happened: the change, the new revisions, the email
// text with its backout steps. Then it stops everything it started.
//
//	go run ./test/e2e/cmd/demo [-v]
//
// It needs python3 with moto[server] 5.2.1 and the emulator, which `make
// demo` installs into .tools/bin first (the Makefile pins it).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/test/cdkenv"
	"github.com/ecslogfix/ecslogfix/test/e2e/harness"
	"github.com/ecslogfix/ecslogfix/test/e2e/synth"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

// scenario is one registration the demo makes.
type scenario struct {
	file   string // under testdata/taskdefs
	family string
	who    map[string]any
	what   string
}

func scenarios() []scenario {
	return []scenario{
		{file: "td01-fargate-no-logconfig.json", family: "demo-orders-api", who: harness.IAMUser("jane.doe"),
			what: "Fargate service, its only container has no logConfiguration"},
		{file: "td02-one-of-three-missing.json", family: "demo-checkout-web", who: harness.AssumedRole("github-actions-deploy", "GitHubActions"),
			what: "three containers, the sidecar has no logConfiguration"},
		{file: "td13-ec2-bridge-kitchen-sink.json", family: "demo-catalog-monolith", who: harness.IAMUser("ops.bob"),
			what: "EC2 kitchen sink: one container without logs, one awslogs without a stream prefix"},
	}
}

func main() {
	verbose := flag.Bool("v", false, "stream the output of moto and the functions")
	flag.Parse()
	os.Exit(cdkenv.Run(func() int {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if err := run(ctx, *verbose); err != nil {
			fmt.Fprintln(os.Stderr, "demo:", err)
			return 1
		}
		return 0
	}))
}

func say(format string, args ...any) { fmt.Printf(format+"\n", args...) }

func run(ctx context.Context, verbose bool) error {
	t0 := time.Now()
	tools, err := localaws.FindTools(ctx)
	if err != nil {
		return fmt.Errorf("the demo runs everything locally: %w", err)
	}
	if tools.MotoVersion != localaws.PinnedMoto {
		say("warning: moto %s found; the launcher is pinned to %s", tools.MotoVersion, localaws.PinnedMoto)
	}

	work, err := os.MkdirTemp("", "ecslogfix-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	say("==> synthesizing the single-account stack (infra/, cdk.json) …")
	syn, err := synth.Synthesize(tools.Root, filepath.Join(work, "cdk.out"), config.ModeSingle, nil)
	if err != nil {
		return err
	}
	var procLog io.Writer // moto's and the functions' output, streamed with -v
	if verbose {
		procLog = os.Stderr
	}
	say("==> starting it on 127.0.0.1: moto %s (scripts/moto_server.py), detect, remediate and notify under the Runtime Interface Emulator …", tools.MotoVersion)
	stack, err := harness.StartStack(ctx, harness.StackOptions{Tools: tools, Template: syn.Template, Packages: syn.Packages, Dir: work, Log: procLog})
	if err != nil {
		return err
	}
	defer func() {
		say("==> stopping everything the demo started")
		if err := stack.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "demo: stop:", err)
		}
	}()
	names := syn.Config.Names()
	say("    state machine %s, topic %s, rule %s → %s", names.StateMachine(), names.Topic(), names.Rule("register"), names.Function(naming.FunctionDetect))
	say("    ready after %s", time.Since(t0).Round(100*time.Millisecond))

	ecsc := ecs.NewFromConfig(stack.Config)
	published := 0
	for i, sc := range scenarios() {
		say("")
		say("================================================================================")
		say("%d. %s registers %s — %s", i+1, sc.who["arn"], sc.family, sc.what)
		say("================================================================================")
		in, err := harness.LoadTaskDefinition(filepath.Join(tools.Root, "testdata", "taskdefs", sc.file), sc.family)
		if err != nil {
			return err
		}
		reg, err := ecsc.RegisterTaskDefinition(ctx, in)
		if err != nil {
			return fmt.Errorf("register %s: %w", sc.family, err)
		}
		src := reg.TaskDefinition
		say("registered %s", aws.ToString(src.TaskDefinitionArn))
		start := time.Now()
		call := harness.RegisterCall{
			EventID: fmt.Sprintf("de300000-0000-4000-8000-%012d", i+1), TaskDefinitionARN: aws.ToString(src.TaskDefinitionArn),
			Family: sc.family, Revision: src.Revision, Identity: sc.who,
		}
		if err := stack.PutRegisterEvent(ctx, call); err != nil {
			return err
		}
		deliveries, err := stack.Pump(ctx)
		if err != nil {
			return err
		}
		for _, d := range deliveries {
			say("EventBridge rule %s → %s: %s", d.Target.Rule, d.Target.Function, strings.TrimSpace(string(d.Invocation.Payload)))
		}
		execs, err := stack.Executions(ctx)
		if err != nil {
			return err
		}
		if len(execs) > 0 {
			e := execs[len(execs)-1]
			say("workflow execution %s: %s in %s (event to end: %s)", aws.ToString(e.Name), e.Status,
				aws.ToTime(e.StopDate).Sub(aws.ToTime(e.StartDate)).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
			if e.Status != sfntypes.ExecutionStatusSucceeded {
				h, _ := harness.History(ctx, stack.SFN, aws.ToString(e.ExecutionArn))
				say("%s", h)
			}
		}
		if err := showChange(ctx, ecsc, src); err != nil {
			return err
		}
		msgs, err := stack.Moto.Published(ctx)
		if err != nil {
			return err
		}
		for _, m := range msgs[published:] {
			say("")
			say("--- the notification (SNS %s), as an email subscriber reads it ---", m.TopicARN)
			if m.Subject != "" {
				say("Subject: %s", m.Subject)
			}
			say("%s", strings.TrimRight(m.Structured("email"), "\n"))
			say("--- end of notification ---")
		}
		published = len(msgs)
	}
	say("")
	say("==> done in %s; cold starts seen (first invoke): %v", time.Since(t0).Round(100*time.Millisecond), stack.ColdStarts)
	return nil
}

// showChange prints the family's new revision and what changed (the
// notification that follows names the log groups).
func showChange(ctx context.Context, ecsc *ecs.Client, src *ecstypes.TaskDefinition) error {
	var flat [2]map[string]any
	var latest *ecstypes.TaskDefinition
	for i, ref := range []*string{src.TaskDefinitionArn, src.Family} { // the family alone names its latest revision
		d, err := ecsc.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: ref,
			Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags}})
		if err != nil {
			return err
		}
		if flat[i], err = harness.Comparable(d.TaskDefinition, d.Tags); err != nil {
			return err
		}
		latest = d.TaskDefinition
	}
	if latest.Revision == src.Revision {
		say("no new revision of %s", aws.ToString(src.Family))
		return nil
	}
	say("new revision %s", aws.ToString(latest.TaskDefinitionArn))
	say("what changed (everything else is identical):")
	for _, d := range harness.Diff(flat[0], flat[1]) {
		say("  %s", describeDiff(d, latest))
	}
	return nil
}

// describeDiff names the container for a ContainerDefinitions[i] path.
func describeDiff(d harness.Difference, td *ecstypes.TaskDefinition) string {
	var i int
	if _, err := fmt.Sscanf(d.Path, "ContainerDefinitions[%d]", &i); err == nil && i < len(td.ContainerDefinitions) {
		d.Path = "container " + aws.ToString(td.ContainerDefinitions[i].Name) + d.Path[strings.Index(d.Path, "]")+1:]
	}
	return d.String()
}
