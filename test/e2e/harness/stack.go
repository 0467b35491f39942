package harness

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ecslogfix/ecslogfix/test/faultproxy"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

// StackOptions configure StartStack.
type StackOptions struct {
	// Tools needs Root, to build the bootstraps (see localaws.Tools).
	Tools    localaws.Tools
	Template *Template
	// Packages maps each function name of the template to its main package
	// relative to the repository root, e.g. "ecslogfix-detect" →
	// "./functions/detect". Every AWS::Lambda::Function needs one.
	Packages map[string]string
	// Env overrides or adds environment variables per function name, e.g.
	// to inject a fault.
	Env map[string]map[string]string
	// Dir is the working directory (the bootstraps, in bin/<package>/).
	Dir string
	// Moto, when set, is the server to create the stack in (already holding
	// other accounts' resources, e.g. an organization); the stack stops it
	// on Close. Otherwise StartStack starts one.
	Moto *localaws.Moto
	// Log receives every started process's output, line by line.
	Log io.Writer
	// StandIns puts the fault proxy's stand-ins (no faults) between the
	// functions and moto, and the test's clients with them: CloudWatch Logs
	// deletion protection and ECS's defaultLogDriverMode as AWS has them
	// (test/faultproxy standin.go).
	StandIns bool
}

// Stack is the synthesized stack running on loopback: moto holds its
// topics, queues, state machines and EventBridge rules, each function
// runs under its own emulator, and rule targets that are Lambda functions
// are SQS "inbox" queues the harness pumps into the functions (moto's
// EventBridge cannot invoke Lambda).
type Stack struct {
	Moto *localaws.Moto
	// Proxy is the fault proxy in front of moto with StackOptions.StandIns.
	Proxy *faultproxy.Server
	// Config is an SDK configuration for where the functions' AWS calls
	// go: Proxy, else moto.
	Config    aws.Config
	Template  *Template
	Functions map[string]*localaws.Function // by function name
	// StateMachines maps logical IDs to state machine ARNs.
	StateMachines map[string]string
	// Subscribers maps topics' logical IDs to the URL of an SQS queue
	// subscribed to the topic (protocol sqs).
	Subscribers map[string]string
	// ColdStarts is the cold start (its emulator's first invoke), to the
	// millisecond, of each function whose first invoke the harness made.
	ColdStarts map[string]time.Duration
	// Buckets and Tables are the S3 buckets and DynamoDB tables created.
	Buckets, Tables []string

	SFN    *sfn.Client
	SNS    *sns.Client
	SQS    *sqs.Client
	Events *eventbridge.Client

	// targets are the Lambda targets of event-pattern rules (Pump),
	// schedules the state machine targets of schedule rules (StartSchedule).
	targets, schedules []RuleTarget
	// byARN names the functions by their ARNs, as rule targets give them.
	byARN map[string]string
}

// RuleTarget is a rule's Lambda target and the inbox queue standing in for it.
type RuleTarget struct {
	Rule         string // the rule's name
	Function     string // the function's name
	StateMachine string // or the state machine's ARN
	Input        string // the target's constant Input, if any
	InboxURL     string // event-pattern rules only
}

// Delivery is one event the harness handed to a function.
type Delivery struct {
	Target     RuleTarget
	Event      json.RawMessage
	Invocation *localaws.Invocation
}

// StartStack creates the template's resources in a new moto server and
// starts every function. On error, whatever was started is stopped.
func StartStack(ctx context.Context, opts StackOptions) (s *Stack, err error) {
	if opts.Dir == "" {
		return nil, errors.New("harness: StackOptions.Dir is required")
	}
	s = &Stack{Template: opts.Template, Functions: map[string]*localaws.Function{}, StateMachines: map[string]string{},
		Subscribers: map[string]string{}, ColdStarts: map[string]time.Duration{}, byARN: map[string]string{}}
	defer func() {
		if err != nil {
			_ = s.Close()
			s = nil
		}
	}()
	if s.Moto = opts.Moto; s.Moto == nil {
		if s.Moto, err = localaws.StartMoto(ctx, localaws.MotoOptions{StepFunctions: true, Log: opts.Log}); err != nil {
			return s, err
		}
	}
	endpoint := s.Moto.Endpoint
	if opts.StandIns {
		if s.Proxy, err = faultproxy.Start(faultproxy.Config{Upstream: s.Moto.Endpoint, StandIns: true}); err != nil {
			return s, err
		}
		endpoint = s.Proxy.URL
	}
	s.Config = localaws.Config(endpoint)
	s.SFN, s.SNS, s.SQS, s.Events = sfn.NewFromConfig(s.Config), sns.NewFromConfig(s.Config), sqs.NewFromConfig(s.Config), eventbridge.NewFromConfig(s.Config)
	// In this order: the functions' environment names the topics, queues,
	// buckets, tables and state machines; the rules target the functions.
	for _, c := range []struct {
		typ    string
		create func(ctx context.Context, r Resource, name string) error
	}{
		{"AWS::SNS::Topic", s.createTopic},
		{"AWS::SQS::Queue", func(ctx context.Context, _ Resource, name string) error {
			_, err := s.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(queueName(name))})
			return err
		}},
		{"AWS::S3::Bucket", s.createBucket},
		{"AWS::DynamoDB::Table", s.createTable},
		{"AWS::Events::EventBus", func(ctx context.Context, _ Resource, name string) error {
			_, err := s.Events.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(name)})
			return err
		}},
		{"AWS::StepFunctions::StateMachine", s.createStateMachine},
		{"AWS::Lambda::Function", func(ctx context.Context, r Resource, name string) error {
			return s.startFunction(ctx, opts, r, name)
		}},
		{"AWS::Events::Rule", s.createRule},
	} {
		for _, r := range opts.Template.Resources(c.typ) {
			if err = c.create(ctx, r, opts.Template.PhysicalName(r.LogicalID)); err != nil {
				return s, fmt.Errorf("%s %s: %w", c.typ, r.LogicalID, err)
			}
		}
	}
	return s, nil
}

func (s *Stack) createTopic(ctx context.Context, r Resource, name string) error {
	out, err := s.SNS.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
	if err != nil {
		return err
	}
	arn := aws.ToString(out.TopicArn)
	if want, _ := s.Template.ResolveString(map[string]any{"Ref": r.LogicalID}); want != arn {
		return fmt.Errorf("moto ARN %s, resolver says %s", arn, want)
	}
	s.Subscribers[r.LogicalID], err = Subscribe(ctx, s.SNS, s.SQS, arn, queueName(name+"-subscriber"))
	return err
}

// createBucket creates a bucket with Object Lock as the template sets it
// (moto holds no KMS key, so the bucket's default encryption is left out).
func (s *Stack) createBucket(ctx context.Context, r Resource, name string) error {
	var p struct {
		ObjectLockEnabled       bool
		ObjectLockConfiguration *s3types.ObjectLockConfiguration
	}
	if err := s.Template.Decode(r, &p); err != nil {
		return err
	}
	s3c := s3.NewFromConfig(s.Config, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name), ObjectLockEnabledForBucket: aws.Bool(p.ObjectLockEnabled)}); err != nil {
		return err
	}
	if c := p.ObjectLockConfiguration; c != nil && c.Rule != nil {
		if _, err := s3c.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String(name), ObjectLockConfiguration: c}); err != nil {
			return err
		}
	}
	s.Buckets = append(s.Buckets, name)
	return nil
}

// createTable creates a table from its properties, which CloudFormation
// spells as CreateTable does (but SSESpecification.SSEEnabled: it arrives
// empty, and moto keeps its default encryption).
func (s *Stack) createTable(ctx context.Context, r Resource, name string) error {
	var in dynamodb.CreateTableInput
	if err := s.Template.Decode(r, &in); err != nil {
		return err
	}
	in.TableName = aws.String(name)
	if _, err := dynamodb.NewFromConfig(s.Config).CreateTable(ctx, &in); err != nil {
		return err
	}
	s.Tables = append(s.Tables, name)
	return nil
}

func (s *Stack) createStateMachine(ctx context.Context, r Resource, name string) error {
	var p struct{ RoleArn, StateMachineType, DefinitionString string }
	if err := s.Template.Decode(r, &p); err != nil {
		return err
	}
	out, err := s.SFN.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String(name), Definition: aws.String(p.DefinitionString),
		RoleArn: aws.String(p.RoleArn), Type: sfntypes.StateMachineType(p.StateMachineType)})
	if err != nil {
		return err
	}
	s.StateMachines[r.LogicalID] = aws.ToString(out.StateMachineArn)
	return nil
}

// startFunction builds the function's bootstrap and starts it under its
// emulator with its synthesized environment.
func (s *Stack) startFunction(ctx context.Context, opts StackOptions, r Resource, name string) error {
	pkg, ok := opts.Packages[name]
	if !ok {
		return fmt.Errorf("function %s: no package given in StackOptions.Packages", name)
	}
	bootstrap, err := localaws.BuildBootstrap(ctx, opts.Tools.Root, pkg, runtime.GOARCH, filepath.Join(opts.Dir, "bin", filepath.Base(pkg)))
	if err != nil {
		return err
	}
	var p struct {
		Environment         struct{ Variables map[string]string }
		MemorySize, Timeout int
	}
	if err := s.Template.Decode(r, &p); err != nil {
		return err
	}
	env := localaws.LambdaEnv(aws.ToString(s.Config.BaseEndpoint))
	maps.Copy(env, p.Environment.Variables)
	maps.Copy(env, opts.Env[name])
	if p.MemorySize > 0 {
		env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = strconv.Itoa(p.MemorySize)
	}
	f, err := localaws.StartFunction(ctx, localaws.FunctionOptions{Name: name, Bootstrap: bootstrap, Env: env,
		Timeout: time.Duration(p.Timeout) * time.Second, Log: opts.Log})
	if err != nil {
		return err
	}
	s.Functions[name] = f
	arn, _ := s.Template.ResolveString(map[string]any{"Fn::GetAtt": []any{r.LogicalID, "Arn"}})
	s.byARN[arn] = name
	for _, key := range []string{name, arn} {
		if err := s.Moto.MapFunction(ctx, key, f.URL); err != nil {
			return err
		}
	}
	return nil
}

// createRule puts an event-pattern rule whose Lambda targets are inbox
// queues, or records a schedule rule's state machine targets.
func (s *Stack) createRule(ctx context.Context, r Resource, name string) error {
	var p struct {
		EventPattern json.RawMessage
		State        string
		EventBusName *string
		Targets      []struct {
			Arn, Id string
			Input   *string
		}
	}
	if err := s.Template.Decode(r, &p); err != nil {
		return err
	}
	if p.EventPattern == nil {
		// A schedule's Lambda target (the report function) is not
		// run by the harness: the tests that need it invoke it.
		for _, tg := range p.Targets {
			if a, err := arn.Parse(tg.Arn); err == nil && a.Service == "states" {
				s.schedules = append(s.schedules, RuleTarget{Rule: name, StateMachine: tg.Arn, Input: aws.ToString(tg.Input)})
			}
		}
		return nil
	}
	if _, err := s.Events.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), EventPattern: aws.String(string(p.EventPattern)),
		State: ebtypes.RuleState(p.State), EventBusName: p.EventBusName}); err != nil {
		return err
	}
	var ebTargets []ebtypes.Target
	for _, tg := range p.Targets {
		fn, ok := s.byARN[tg.Arn]
		if !ok {
			if a, err := arn.Parse(tg.Arn); err == nil && a.Service == "lambda" {
				return fmt.Errorf("rule %s: Lambda target %s is not one of the stack's functions", name, tg.Arn)
			}
			continue // only the stack's functions are stood in for
		}
		qn := queueName(name + "-" + tg.Id + "-inbox")
		q, err := s.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(qn)})
		if err != nil {
			return fmt.Errorf("create inbox %s: %w", qn, err)
		}
		s.targets = append(s.targets, RuleTarget{Rule: name, Function: fn, Input: aws.ToString(tg.Input), InboxURL: aws.ToString(q.QueueUrl)})
		ebTargets = append(ebTargets, ebtypes.Target{Id: aws.String(tg.Id), Arn: aws.String(QueueARN(qn)), Input: tg.Input})
	}
	if len(ebTargets) == 0 {
		return nil
	}
	out, err := s.Events.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(name), EventBusName: p.EventBusName, Targets: ebTargets})
	if err == nil && out.FailedEntryCount > 0 {
		err = fmt.Errorf("put targets: %d failed", out.FailedEntryCount)
	}
	return err
}

var badQueueChars = regexp.MustCompile(`[^A-Za-z0-9_-]`)

// queueName makes a valid SQS queue name (≤ 80 of [A-Za-z0-9_-]).
func queueName(s string) string {
	s = badQueueChars.ReplaceAllString(s, "-")
	if len(s) > 80 {
		s = s[len(s)-80:]
	}
	return s
}

// Pump hands every event waiting in the rules' inboxes to the target
// functions and returns what each answered. A function error is in the
// Delivery, not the error.
func (s *Stack) Pump(ctx context.Context) ([]Delivery, error) {
	var out []Delivery
	for _, tg := range s.targets {
		bodies, err := Drain(ctx, s.SQS, tg.InboxURL)
		if err != nil {
			return out, err
		}
		for _, b := range bodies {
			// One invoke at a time, as the emulator requires, with Step
			// Functions' (localaws.Function).
			inv, err := s.Functions[tg.Function].Invoke(ctx, []byte(b))
			if err != nil {
				return out, err
			}
			if inv.Cold {
				s.ColdStarts[tg.Function] = inv.Duration.Round(time.Millisecond)
			}
			out = append(out, Delivery{Target: tg, Event: json.RawMessage(b), Invocation: inv})
		}
	}
	return out, nil
}

// StartSchedule starts the state machine targets of the schedule rule
// named rule with their constant input, as EventBridge would, under the
// execution name given, and returns the executions' ARNs.
func (s *Stack) StartSchedule(ctx context.Context, rule, name string) ([]string, error) {
	var out []string
	for _, tg := range s.schedules {
		if tg.Rule != rule {
			continue
		}
		e, err := s.SFN.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(tg.StateMachine), Name: aws.String(name), Input: aws.String(cmp.Or(tg.Input, "{}"))})
		if err != nil {
			return out, fmt.Errorf("start %s: %w", tg.StateMachine, err)
		}
		out = append(out, aws.ToString(e.ExecutionArn))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no schedule rule %s with a state machine target", rule)
	}
	return out, nil
}

// Executions lists every execution of the stack's state machines, oldest
// first, waiting until none is RUNNING (or ctx ends).
func (s *Stack) Executions(ctx context.Context) ([]*sfn.DescribeExecutionOutput, error) {
	var all []*sfn.DescribeExecutionOutput
	for _, id := range slices.Sorted(maps.Keys(s.StateMachines)) {
		p := sfn.NewListExecutionsPaginator(s.SFN, &sfn.ListExecutionsInput{StateMachineArn: aws.String(s.StateMachines[id])})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list executions: %w", err)
			}
			for _, e := range page.Executions {
				d, err := WaitExecution(ctx, s.SFN, aws.ToString(e.ExecutionArn))
				if err != nil {
					return nil, err
				}
				all = append(all, d)
			}
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return aws.ToTime(all[i].StartDate).Before(aws.ToTime(all[j].StartDate)) })
	return all, nil
}

// Notifications drains every topic's subscriber queue and returns the SNS
// envelopes.
func (s *Stack) Notifications(ctx context.Context) ([]SNSEnvelope, error) {
	var out []SNSEnvelope
	for _, url := range s.Subscribers {
		bodies, err := Drain(ctx, s.SQS, url)
		if err != nil {
			return out, err
		}
		for _, b := range bodies {
			e, err := ParseSNSEnvelope(b)
			if err != nil {
				return out, err
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// Logs returns the output of every process, function by function.
func (s *Stack) Logs() string {
	var b strings.Builder
	for _, n := range slices.Sorted(maps.Keys(s.Functions)) {
		fmt.Fprintf(&b, "==== %s\n%s\n", n, s.Functions[n].Logs())
	}
	if s.Moto != nil {
		fmt.Fprintf(&b, "==== moto\n%s\n", s.Moto.Logs())
	}
	return b.String()
}

// Close stops every function, the fault proxy and the moto server.
func (s *Stack) Close() error {
	var errs []error
	for _, f := range s.Functions {
		errs = append(errs, f.Close())
	}
	if s.Proxy != nil {
		errs = append(errs, s.Proxy.Close())
	}
	if s.Moto != nil {
		errs = append(errs, s.Moto.Close())
	}
	return errors.Join(errs...)
}
