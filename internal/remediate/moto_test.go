package remediate

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/internal/awsfake"
	"github.com/ecslogfix/ecslogfix/internal/detect"
	"github.com/ecslogfix/ecslogfix/internal/execution"
	"github.com/ecslogfix/ecslogfix/internal/inventory"
	"github.com/ecslogfix/ecslogfix/internal/loggroup"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/policy/awslogs"
	"github.com/ecslogfix/ecslogfix/internal/sweep"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

const testStateMachine = "arn:aws:states:us-east-1:111122223333:stateMachine:ecslogfix-remediation"

// motoAccount is the account moto answers for with dummy credentials.
const motoAccount = "123456789012"

func TestMain(m *testing.M) { localaws.Main(m) }

// motoEndpoint returns the URL of the moto server shared by the component
// tests of this package.
func motoEndpoint(t *testing.T) string {
	t.Helper()
	return localaws.Shared(t).Endpoint
}

// callCounter counts SDK operations ("Service:Operation") at the Initialize
// step: what the code asked for, SDK retries excluded.
type callCounter struct {
	mu    sync.Mutex
	calls map[string]int
}

func (c *callCounter) attach(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("ecslogfix.test.CountCalls",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			c.mu.Lock()
			c.calls[awsmiddleware.GetServiceID(ctx)+":"+awsmiddleware.GetOperationName(ctx)]++
			c.mu.Unlock()
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

// take returns the counts since the last take and resets them.
func (c *callCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = map[string]int{}
	return out
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func motoConfig(endpoint, region string) aws.Config {
	cfg := localaws.Config(endpoint)
	cfg.Region = region
	return cfg
}

// TestComponentRemediateAgainstMoto runs the sweep and the remediator
// through the real SDK clients (Factory: retryers, limiters) against moto:
// non-compliant task definitions get their log group (retention, tags) and
// a compliant revision identical to the source but for logging and our
// tags; a second Register registers nothing.
func TestComponentRemediateAgainstMoto(t *testing.T) {
	t0 := time.Now()
	endpoint := motoEndpoint(t)
	t.Logf("moto ready in %v", time.Since(t0))
	ctx := context.Background()
	region := "eu-central-1" // a region no other test of this package uses in moto
	cfg := motoConfig(endpoint, region)
	counter := &callCounter{calls: map[string]int{}}
	cfg.APIOptions = append(cfg.APIOptions, counter.attach)
	factory := awsclient.New(cfg, awsclient.Options{ReadRate: awsclient.MaxReadRate, RegisterRate: awsclient.MaxRate})
	raw := ecs.NewFromConfig(cfg)
	logs := cloudwatchlogs.NewFromConfig(cfg)

	// Seed: non-compliant task definitions from the fixtures, one
	// compliant, and a pre-existing log group with the user's retention.
	fixtures := []string{
		"td01-fargate-no-logconfig.json", "td02-one-of-three-missing.json", "td03-splunk.json",
		"td13-ec2-bridge-kitchen-sink.json", "td23-cfn-tags-aws-prefix.json", "td11-compliant-fargate.json",
	}
	for _, name := range fixtures {
		td, tags := awsfake.TaskDefinition(t, name)
		in := registerInput(t, td, tags)
		// Keep the reserved aws: tags CloudFormation sets (moto accepts
		// them): the remediation must drop them.
		for _, tg := range tags {
			if taskdef.IsReservedTagKey(aws.ToString(tg.Key)) {
				in.Tags = append(in.Tags, tg)
			}
		}
		if _, err := raw.RegisterTaskDefinition(ctx, in); err != nil {
			t.Fatalf("seed %s: %v", name, err)
		}
	}
	if _, err := logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/ecs/checkout-web")}); err != nil {
		t.Fatal(err)
	}
	if _, err := logs.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("/ecs/checkout-web"), RetentionInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	counter.take()
	t.Logf("seeded in %v", time.Since(t0))

	// Detect by sweep (the execution inputs are what detect starts).
	s := awsfake.NewSFN()
	sw := &sweep.Sweeper{
		Starter: &execution.Starter{SFN: s, StateMachineARN: testStateMachine, Policy: policy.Default()},
		ECS:     func(t workflow.Target) (inventory.ECS, error) { return factory.ECS(awsclient.Scope{Region: t.Region}) },
		Reach:   execution.Reach{HomeAccount: motoAccount},
		S3:      awsfake.NewS3(),
		Bucket:  "ecslogfix-sweeps",
		Region:  region,
		Logger:  (&awsfake.LogBuffer{}).Logger(),
		Observe: func() *loggroup.Observer { return loggroup.ObserverFrom(factory) },
	}
	inv, err := sw.Inventory(ctx, "component")
	if err != nil {
		t.Fatal(err)
	}
	counter.take()
	walked, err := sw.Walk(ctx, workflow.Walk{SweepID: inv.SweepID, Target: workflow.Target{Account: motoAccount, Region: region}})
	if err != nil {
		t.Fatal(err)
	}
	sweepCalls := counter.take()
	st, err := sw.Summarize(ctx, workflow.SweepState{Inventory: inv})
	if err != nil {
		t.Fatal(err)
	}
	// Every fixture starts one: the compliant one's group is missing.
	if rep := st.Summary; !walked.Done || rep.Evaluated != len(fixtures) || rep.Started != len(fixtures) {
		t.Fatalf("sweep %+v", rep)
	}
	if sweepCalls["CloudWatch Logs:DescribeLogGroups"] != 1 {
		t.Errorf("the sweep read %d log groups, want 1 (the compliant family's)", sweepCalls["CloudWatch Logs:DescribeLogGroups"])
	}
	t.Logf("sweep of %d families: %d AWS calls %v", len(fixtures), total(sweepCalls), sweepCalls)

	r := &Remediator{Policy: policy.Default(), Clients: ClientsFrom(factory), Logger: (&awsfake.LogBuffer{}).Logger()}
	names := append([]string(nil), s.Order...)
	sort.Strings(names)
	for _, name := range names {
		var in workflow.Input
		if err := json.Unmarshal([]byte(s.Inputs[name]), &in); err != nil {
			t.Fatal(err)
		}
		t.Run(in.Family, func(t *testing.T) {
			counter.take()
			ens, err := r.EnsureLogGroups(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			ensureCalls := counter.take()
			res, err := r.Register(ctx, workflow.State{Input: in, Ensured: &ens})
			if err != nil {
				t.Fatal(err)
			}
			registerCalls := counter.take()
			t.Logf("%s: ensure %d calls %v, register %d calls %v", in.Family, total(ensureCalls), ensureCalls, total(registerCalls), registerCalls)
			if in.Family == "payments-gateway" {
				// Compliant but for its missing group: created, no new revision.
				if res.Outcome != workflow.OutcomeLogGroupCreated || res.NewARN != "" || registerCalls["ECS:RegisterTaskDefinition"] != 0 ||
					len(res.LogGroups) != 1 || !res.LogGroups[0].Created {
					t.Fatalf("outcome %s (%s), groups %+v, calls %v", res.Outcome, res.Detail, res.LogGroups, registerCalls)
				}
				describeGroupIn(t, endpoint, res.LogGroups[0].Region, res.LogGroups[0].Name)
				return
			}
			if res.Outcome != workflow.OutcomeRemediated {
				t.Fatalf("outcome %s: %s", res.Outcome, res.Detail)
			}
			if total(registerCalls) != 2 || registerCalls["ECS:DescribeTaskDefinition"] != 1 || registerCalls["ECS:RegisterTaskDefinition"] != 1 {
				t.Errorf("register made %v, want 1 describe + 1 register", registerCalls)
			}

			// Every log group of the new revision exists in its own region
			// before it is registered — template groups and the user's alike.
			got := describeTD(t, raw, res.NewARN)
			uses := awslogs.Groups(got.TaskDefinition)
			if len(ens.LogGroups) != len(uses) || !reflect.DeepEqual(res.LogGroups, ens.LogGroups) {
				t.Fatalf("ensured %+v, the revision uses %v", ens.LogGroups, uses)
			}
			created := 0
			for i, lg := range ens.LogGroups {
				if uses[i] != (awslogs.GroupRef{Name: lg.Name, Region: lg.Region}) {
					t.Fatalf("ensured %s (%s), the revision's group %d is %v", lg.Name, lg.Region, i, uses[i])
				}
				group := describeGroupIn(t, endpoint, lg.Region, lg.Name)
				if in.Family == "checkout-web" && lg.Region == region {
					if lg.Created || lg.RetentionDays != 7 || aws.ToInt32(group.RetentionInDays) != 7 {
						t.Fatalf("pre-existing group changed or misreported: %+v, retention %d", lg, aws.ToInt32(group.RetentionInDays))
					}
					continue
				}
				if !lg.Created || lg.RetentionDays != 365 || aws.ToInt32(group.RetentionInDays) != 365 || !lg.DeletionProtectionEnabled {
					t.Fatalf("group %+v, retention in moto %d", lg, aws.ToInt32(group.RetentionInDays))
				}
				created++
				arn := aws.ToString(group.LogGroupArn)
				if arn == "" {
					arn = strings.TrimSuffix(aws.ToString(group.Arn), ":*")
				}
				tags, err := cloudwatchlogs.NewFromConfig(motoConfig(endpoint, lg.Region)).ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
				if err != nil {
					t.Fatal(err)
				}
				if tags.Tags[taskdef.TagManaged] != "true" {
					t.Errorf("log group tags %v", tags.Tags)
				}
			}
			// The re-read, one read per distinct group, create + retention per new one.
			if want := 1 + len(uses) + 2*created; total(ensureCalls) != want || ensureCalls["ECS:DescribeTaskDefinition"] != 1 ||
				ensureCalls["CloudWatch Logs:DescribeLogGroups"] != len(uses) || ensureCalls["CloudWatch Logs:CreateLogGroup"] != created {
				t.Errorf("ensure made %v, want %d calls", ensureCalls, want)
			}

			// The new revision: compliant, and the source but for logging and our tags.
			src := describeTD(t, raw, in.TaskDefinitionARN)
			if ev := policy.Default().Evaluate(got.TaskDefinition, got.Tags); !ev.Compliant {
				t.Errorf("new revision not compliant: %+v", ev)
			}
			if v, _ := awsfake.TagValue(got.Tags, taskdef.TagSourceRevision); v != strconv.FormatInt(int64(in.Revision), 10) {
				t.Errorf("source tag %q", v)
			}
			if v, _ := awsfake.TagValue(got.Tags, taskdef.TagManaged); v != "true" {
				t.Errorf("managed tag %q", v)
			}
			srcTags := withoutAWSTags(src.Tags)
			assertSameExceptLogging(t, src.TaskDefinition, srcTags, got.TaskDefinition, got.Tags)
			for i, c := range src.TaskDefinition.ContainerDefinitions {
				after := got.TaskDefinition.ContainerDefinitions[i].LogConfiguration
				if c.LogConfiguration != nil && c.LogConfiguration.LogDriver == types.LogDriverAwslogs && policy.Default().Evaluate(&types.TaskDefinition{ContainerDefinitions: []types.ContainerDefinition{c}}, nil).Compliant {
					if fmt.Sprint(c.LogConfiguration) != fmt.Sprint(after) {
						t.Errorf("compliant container %s changed", aws.ToString(c.Name))
					}
				}
			}

			// A second Register registers nothing: a retry of this one
			// reports its revision, another execution's is a duplicate.
			again, err := r.Register(ctx, workflow.State{Input: in})
			if err != nil {
				t.Fatal(err)
			}
			againCalls := counter.take()
			if again.Outcome != workflow.OutcomeRemediated || again.NewARN != res.NewARN || againCalls["ECS:RegisterTaskDefinition"] != 0 {
				t.Fatalf("a retry of the register: %s %s, calls %v; want REMEDIATED %s, nothing registered", again.Outcome, again.NewARN, againCalls, res.NewARN)
			}
			other := in
			other.ExecutionToken += "-another"
			dup, err := r.Register(ctx, workflow.State{Input: other})
			if err != nil {
				t.Fatal(err)
			}
			if dupCalls := counter.take(); dup.Outcome != workflow.OutcomeAlreadyRemediated || dupCalls["ECS:RegisterTaskDefinition"] != 0 {
				t.Fatalf("another execution's register: %s, calls %v", dup.Outcome, dupCalls)
			}
			awsfake.CheckNoSecretsJSON(t, res)
		})
	}
}

func describeTD(t *testing.T, c *ecs.Client, arn string) *ecs.DescribeTaskDefinitionOutput {
	t.Helper()
	out, err := c.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(arn),
		Include:        []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
	})
	if err != nil {
		t.Fatalf("describe %s: %v", arn, err)
	}
	return out
}

// describeGroupIn reads a group from moto in region; it must exist.
func describeGroupIn(t *testing.T, endpoint, region, name string) *logtypes.LogGroup {
	t.Helper()
	return describeGroup(t, cloudwatchlogs.NewFromConfig(motoConfig(endpoint, region)), name)
}

func describeGroup(t *testing.T, c *cloudwatchlogs.Client, name string) *logtypes.LogGroup {
	t.Helper()
	out, err := c.DescribeLogGroups(context.Background(), &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range out.LogGroups {
		if aws.ToString(out.LogGroups[i].LogGroupName) == name {
			return &out.LogGroups[i]
		}
	}
	t.Fatalf("log group %s does not exist", name)
	return nil
}

func withoutAWSTags(tags []types.Tag) []types.Tag {
	var out []types.Tag
	for _, tg := range tags {
		if !taskdef.IsReservedTagKey(aws.ToString(tg.Key)) {
			out = append(out, tg)
		}
	}
	return out
}

// TestComponentDetectAgainstMoto routes real CloudTrail event shapes
// through the Detector with real SDK clients against moto: a non-compliant
// registration starts one execution (1 ECS call), a duplicate delivery
// starts nothing new, and the registration of the fixed revision by our
// own role is ignored without any AWS call.
func TestComponentDetectAgainstMoto(t *testing.T) {
	endpoint := motoEndpoint(t)
	ctx := context.Background()
	region := "ap-northeast-1" // a region no other test of this package uses in moto
	cfg := motoConfig(endpoint, region)
	counter := &callCounter{calls: map[string]int{}}
	cfg.APIOptions = append(cfg.APIOptions, counter.attach)
	raw := ecs.NewFromConfig(cfg)

	td, tags := awsfake.TaskDefinition(t, "td01-fargate-no-logconfig.json")
	arn := aws.ToString(seed(ctx, t, raw, td, tags).TaskDefinitionArn)
	account := strings.Split(arn, ":")[4] // moto's account
	// The event as EventBridge delivers it, moved to moto's account,
	// region and revision.
	event := func(name, arn string) []byte {
		return awsfake.EditEvent(t, awsfake.Event(t, name), func(m map[string]any) {
			m["account"], m["region"] = account, region
			d := m["detail"].(map[string]any)
			d["awsRegion"], d["recipientAccountId"] = region, account
			if ui, ok := d["userIdentity"].(map[string]any); ok {
				for _, k := range []string{"arn", "accountId"} {
					if s, ok := ui[k].(string); ok {
						ui[k] = strings.ReplaceAll(s, awsfake.Account, account)
					}
				}
				if sc, ok := ui["sessionContext"].(map[string]any); ok {
					si := sc["sessionIssuer"].(map[string]any)
					si["arn"] = strings.ReplaceAll(si["arn"].(string), awsfake.Account, account)
					si["accountId"] = account
				}
			}
			re := d["responseElements"].(map[string]any)
			re["taskDefinition"].(map[string]any)["taskDefinitionArn"] = arn
		})
	}

	s := awsfake.NewSFN()
	factory := awsclient.New(cfg, awsclient.Options{ReadRate: awsclient.MaxReadRate, RegisterRate: awsclient.MaxRate})
	d := &detect.Detector{
		Starter:     &execution.Starter{SFN: s, StateMachineARN: testStateMachine, Policy: policy.Default()},
		ECS:         func(t workflow.Target) (detect.ECS, error) { return factory.ECS(awsclient.Scope{Region: t.Region}) },
		OwnRoleARNs: []string{"arn:aws:iam::" + account + ":role/ecs-log-remediation-exec"},
		Logger:      (&awsfake.LogBuffer{}).Logger(),
	}
	counter.take()
	resp, err := d.Handle(ctx, event("e01-iamuser-cli-fargate.json", arn))
	if err != nil || resp.Status != execution.StatusStarted {
		t.Fatalf("%+v %v", resp, err)
	}
	calls := counter.take()
	t.Logf("detect of a non-compliant registration: %d AWS calls %v + 1 StartExecution", total(calls), calls)
	if total(calls) != 1 || calls["ECS:DescribeTaskDefinition"] != 1 {
		t.Errorf("detect made %v, want 1 DescribeTaskDefinition", calls)
	}
	var input workflow.Input
	if err := json.Unmarshal([]byte(s.Inputs[s.Order[0]]), &input); err != nil {
		t.Fatal(err)
	}
	if input.TaskDefinitionARN != arn || input.Target.Account != account || input.Target.Region != region || input.Principal == nil || input.Principal.UserName != "jane.doe" {
		t.Fatalf("input %+v", input)
	}
	awsfake.CheckNoSecrets(t, s.Inputs[s.Order[0]])

	// Duplicate delivery.
	if resp, err := d.Handle(ctx, event("e01-iamuser-cli-fargate.json", arn)); err != nil || resp.Status != execution.StatusDuplicate {
		t.Fatalf("duplicate: %+v %v", resp, err)
	}

	// Remediate, then deliver our own registration's event.
	r := &Remediator{Policy: policy.Default(), Clients: ClientsFrom(factory), Logger: (&awsfake.LogBuffer{}).Logger()}
	res, err := r.Register(ctx, workflow.State{Input: input})
	if err != nil || res.Outcome != workflow.OutcomeRemediated {
		t.Fatalf("register %+v %v", res, err)
	}
	counter.take()
	if resp, err := d.Handle(ctx, event("e08-remediation-role-self.json", res.NewARN)); err != nil || resp.Status != execution.StatusIgnored || resp.Reason != detect.IgnoreOwnRole {
		t.Fatalf("own registration: %+v %v", resp, err)
	}
	if calls := counter.take(); total(calls) != 0 {
		t.Fatalf("loop guard made AWS calls: %v", calls)
	}
	// The same new revision registered by anyone else is found compliant.
	if resp, err := d.Handle(ctx, event("e01-iamuser-cli-fargate.json", res.NewARN)); err != nil || resp.Status != execution.StatusCompliant {
		t.Fatalf("new revision: %+v %v", resp, err)
	}
	if len(s.Order) != 1 {
		t.Fatalf("%d executions started", len(s.Order))
	}
}

// registerInput is the register request of td with tags.
func registerInput(t *testing.T, td *types.TaskDefinition, tags []types.Tag) *ecs.RegisterTaskDefinitionInput {
	t.Helper()
	in, err := taskdef.RegisterInput(td, tags)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// seed registers td with tags through c, as a user would, and returns the
// revision ECS registered.
func seed(ctx context.Context, t *testing.T, c *ecs.Client, td *types.TaskDefinition, tags []types.Tag) *types.TaskDefinition {
	t.Helper()
	out, err := c.RegisterTaskDefinition(ctx, registerInput(t, td, tags))
	if err != nil {
		t.Fatal(err)
	}
	return out.TaskDefinition
}
