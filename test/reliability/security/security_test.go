package security

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/internal/workflow/asl"
	"github.com/ecslogfix/ecslogfix/test/cdkenv"
	"github.com/ecslogfix/ecslogfix/test/e2e/harness"
	"github.com/ecslogfix/ecslogfix/test/e2e/synth"
	"github.com/ecslogfix/ecslogfix/test/faultproxy"
	"github.com/ecslogfix/ecslogfix/test/localaws"
	"github.com/ecslogfix/ecslogfix/test/reliability"
	"github.com/ecslogfix/ecslogfix/test/syncbuf"
)

func TestMain(m *testing.M) { os.Exit(cdkenv.Run(m.Run)) }

// eventOnly are values only the CloudTrail event carries (CloudTrail
// records the request in plain text, environment values included): in the
// fields the parser reads, camelCase as CloudTrail writes them (the
// request's tags, the user agent), and in the container definitions it
// does not read (camelCase and PascalCase).
var eventOnly = []string{
	"FAKE-event-body-only-c0ffee-1",
	"sk_live_FAKE-event-body-only-c0ffee-2",
	"FAKE-event-camel-environment-c0ffee-3", // requestParameters.containerDefinitions[0].environment
	"FAKE-event-request-tag-value-c0ffee-4", // requestParameters.tags[].value (parsed)
	"FAKE-event-user-agent-token-c0ffee-5",  // userAgent (parsed: the origin)
}

// userAgent is the registrant's user agent: a tool the origin rule
// recognises, then a secret-looking token.
const userAgent = "aws-cli/2.22.35 md/command#ecs.register-task-definition " + "FAKE-event-user-agent-token-c0ffee-5"

// Planted in every registered task definition: a secret-looking tag value
// and, in the first container, a log option and a secret option of a
// non-awslogs driver. Their names are shown (allowed, must appear); their
// values never.
const (
	tagKey          = "deploy-token"
	tagSecret       = "FAKE-taskdef-tag-value-c0ffee-6"
	optionKey       = "x-fake-allowed-option-key"
	optionSecret    = "FAKE-option-value-c0ffee-7"
	secretOptName   = "FAKE_ALLOWED_SECRET_OPTION_NAME"
	secretOptSecret = "arn:aws:ssm:us-east-1:123456789012:parameter/FAKE-secret-option-c0ffee-8"
)

// awsMessageSecret is quoted by the AWS error that fails the last
// execution's RegisterTaskDefinition (an AWS error message can quote the
// request); awsMessageShown is the rest of that message, which reaches the
// execution history.
const (
	awsMessageSecret = "FAKE-aws-error-message-c0ffee-9"
	awsMessageShown  = "Invalid setting for container 'app'"
	awsMessage       = awsMessageShown + ": token=" + awsMessageSecret + " is not valid."
)

// The AWS errors of the detect and notify paths: detect's re-read of the
// revision (DescribeTaskDefinition) and notify's Publish each get one
// whose message quotes a secret; the rest of each message is shown.
const (
	detectMessageSecret = "FAKE-detect-error-message-c0ffee-11"
	detectMessageShown  = "Unable to read the task definition"
	detectMessage       = detectMessageShown + ": token=" + detectMessageSecret + " is not valid."
	notifyMessageSecret = "FAKE-notify-error-message-c0ffee-12"
	notifyMessageShown  = "Invalid parameter: MessageAttributes"
	notifyMessage       = notifyMessageShown + ": token=" + notifyMessageSecret + " is not valid."
	sweepMessageSecret  = "FAKE-sweep-error-message-c0ffee-13"
	sweepMessageShown   = "Unable to read the family's latest revision"
	sweepMessage        = sweepMessageShown + ": token=" + sweepMessageSecret + " is not valid."
)

// allowed are planted names every notification of a remediated family
// with a non-awslogs first container shows.
var allowed = []string{optionKey, secretOptName}

// plant adds the planted fields to in.
func plant(in *ecs.RegisterTaskDefinitionInput) {
	in.Tags = append(in.Tags, ecstypes.Tag{Key: aws.String(tagKey), Value: aws.String(tagSecret)})
	c := &in.ContainerDefinitions[0]
	if c.LogConfiguration == nil || c.LogConfiguration.LogDriver == ecstypes.LogDriverAwslogs {
		return
	}
	lc := c.LogConfiguration
	if lc.Options == nil {
		lc.Options = map[string]string{}
	}
	lc.Options[optionKey] = optionSecret
	lc.SecretOptions = append(lc.SecretOptions, ecstypes.Secret{Name: aws.String(secretOptName), ValueFrom: aws.String(secretOptSecret)})
}

// camel renders v with every object key's first letter lowercased, as
// CloudTrail writes request parameters.
func camel(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[strings.ToLower(k[:1])+k[1:]] = camel(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = camel(e)
		}
		return out
	}
	return v
}

// secretsOf lists the values of in that must never travel: environment
// values, secrets' and secretOptions' valueFrom, repository credentials,
// and the options of log drivers other than awslogs. Values shorter than
// eight characters (e.g. "info") are left out: they appear anywhere.
func secretsOf(in *ecs.RegisterTaskDefinitionInput) []string {
	var out []string
	// Names the task definition shows anyway (a splunk-index equal to the
	// container's name) are not evidence of a leak.
	public := map[string]bool{aws.ToString(in.Family): true}
	for _, c := range in.ContainerDefinitions {
		public[aws.ToString(c.Name)] = true
	}
	add := func(v string) {
		if len(v) >= 8 && !public[v] {
			out = append(out, v)
		}
	}
	for _, tg := range in.Tags {
		if aws.ToString(tg.Key) == tagKey {
			add(aws.ToString(tg.Value))
		}
	}
	for _, c := range in.ContainerDefinitions {
		for _, kv := range c.Environment {
			add(aws.ToString(kv.Value))
		}
		for _, s := range c.Secrets {
			add(aws.ToString(s.ValueFrom))
		}
		if c.RepositoryCredentials != nil {
			add(aws.ToString(c.RepositoryCredentials.CredentialsParameter))
		}
		if lc := c.LogConfiguration; lc != nil {
			for _, s := range lc.SecretOptions {
				add(aws.ToString(s.ValueFrom))
			}
			if lc.LogDriver != "awslogs" {
				for _, v := range lc.Options {
					add(v)
				}
			}
		}
	}
	if lc := in.ProxyConfiguration; lc != nil {
		for _, p := range lc.Properties {
			add(aws.ToString(p.Value))
		}
	}
	return out
}

// requestBody is the requestParameters CloudTrail records: the whole
// request in plain text, plus values only the event carries.
func requestBody(t *testing.T, in *ecs.RegisterTaskDefinitionInput) map[string]any {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	// CloudTrail's request parameters are camelCase; keep both forms.
	m["family"] = aws.ToString(in.Family)
	m["x-plain-text-note"] = eventOnly[0]
	if cds, ok := m["ContainerDefinitions"].([]any); ok && len(cds) > 0 {
		cd := cds[0].(map[string]any)
		env, _ := cd["Environment"].([]any)
		cd["Environment"] = append(env, map[string]any{"Name": "EVENT_ONLY", "Value": eventOnly[1]})
	}
	m["containerDefinitions"] = camel(m["ContainerDefinitions"])
	if cds, ok := m["containerDefinitions"].([]any); ok && len(cds) > 0 {
		cd := cds[0].(map[string]any)
		env, _ := cd["environment"].([]any)
		cd["environment"] = append(env, map[string]any{"name": "EVENT_ONLY_CAMEL", "value": eventOnly[2]})
	}
	tags := []any{map[string]any{"key": "ci-request-token", "value": eventOnly[3]}}
	for _, tg := range in.Tags {
		tags = append(tags, map[string]any{"key": aws.ToString(tg.Key), "value": aws.ToString(tg.Value)})
	}
	m["tags"] = tags
	return m
}

// TestSecretLeakage runs task definitions full of secret-looking values
// (testdata/taskdefs td37 and td03, and a td13 variant with repository
// credentials, secrets and secretOptions), announced by CloudTrail events
// whose request bodies carry them in plain text, through detect → the
// synthesized workflow on moto → notify, plus one execution that fails in
// remediate, one whose detect and notify meet AWS errors quoting secrets,
// and a sweep whose read of a family meets one. No such value may appear in any notification format (the SNS
// message whole, each protocol's format — the https one is what AWS
// Chatbot posts to Slack and Microsoft Teams — and as the SQS subscriber
// receives it), in any body posted to the Slack webhook, in any history
// record (every S3 object version, every DynamoDB item), in any
// Security Hub finding ecslogfix imported, in any execution's input, output or history (DescribeExecution,
// GetExecutionHistory), in detect's answers, in any line the bootstraps
// wrote, or in the output of the CLI's scan, fix and backout (dry runs,
// every output format) run against the same world.
func TestSecretLeakage(t *testing.T) {
	start := time.Now()
	tools := localaws.RequireTools(t)
	root := tools.Root
	dir := t.TempDir()
	// The history store, Security Hub findings and a Slack webhook, whose
	// URL a Secrets Manager secret holds: notify posts every published
	// notification to the loopback receiver.
	slack := startSlack(t)
	syn, err := synth.Synthesize(root, filepath.Join(dir, "cdk"), config.ModeSingle, map[string]any{
		"ecslogfix:history": true, "ecslogfix:securityHub": "import", "ecslogfix:slackWebhookSecretArn": slackSecretARN,
	})
	if err != nil {
		t.Fatalf("synthesize: %v", err)
	}
	synthTime := time.Since(start)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out := &syncbuf.Buffer{}
	names := syn.Config.Names()
	s, err := harness.StartStack(ctx, harness.StackOptions{Tools: tools, Template: syn.Template, Packages: syn.Packages, Dir: mkdir(t, filepath.Join(dir, "stack")), Log: out, StandIns: true,
		Env: map[string]map[string]string{names.Function(naming.FunctionNotify): {
			"SSL_CERT_FILE":     slack.CertFile(t, dir),
			fnenv.EnvDigestPoll: "1", // the sweep's digest asks again for missing outcomes after 1 s
		}}})
	if err != nil {
		t.Fatalf("start the stack: %v", err)
	}
	defer func() {
		if t.Failed() {
			t.Logf("process output (tail):\n%s", tail(out.String(), 12000))
		}
		s.Close()
	}()

	// The definition moto runs is the one the in-process scenarios
	// interpret (test/reliability/faults).
	checkDefinition(t, syn)

	ecsClient := ecs.NewFromConfig(s.Config)
	// notify reads the secret at its first post (moto resolves the partial
	// ARN the configuration names, as Secrets Manager does).
	if _, err := secretsmanager.NewFromConfig(s.Config).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String(slackSecretName), SecretString: aws.String(slack.URL()),
	}); err != nil {
		t.Fatal(err)
	}
	type family struct{ file, name string }
	families := []family{
		{"td37-secrets-envfiles.json", "sec-secrets-envfiles"},
		{"td03-splunk.json", "sec-splunk"},
		{"td13-ec2-bridge-kitchen-sink.json", "sec-kitchen-sink"},
	}
	var secrets []string
	secrets = append(secrets, eventOnly...)
	secrets = append(secrets, slackHook)
	var registered []*ecstypes.TaskDefinition // the canary-bearing revisions
	register := func(f family, mutate func(*ecs.RegisterTaskDefinitionInput)) (*ecs.RegisterTaskDefinitionInput, *ecs.RegisterTaskDefinitionOutput) {
		in, err := harness.LoadTaskDefinition(filepath.Join(root, "testdata", "taskdefs", f.file), f.name)
		if err != nil {
			t.Fatal(err)
		}
		plant(in)
		if mutate != nil {
			mutate(in)
		}
		secrets = append(secrets, secretsOf(in)...)
		o, err := ecsClient.RegisterTaskDefinition(ctx, in)
		if err != nil {
			t.Fatalf("register %s: %v", f.file, err)
		}
		registered = append(registered, o.TaskDefinition)
		return in, o
	}
	withCredentials := func(in *ecs.RegisterTaskDefinitionInput) {
		c := &in.ContainerDefinitions[0]
		c.RepositoryCredentials = &ecstypes.RepositoryCredentials{CredentialsParameter: aws.String("arn:aws:secretsmanager:us-east-1:123456789012:secret:FAKE-registry-creds-Zz9")}
		c.Secrets = append(c.Secrets, ecstypes.Secret{Name: aws.String("FAKE_SECRET"), ValueFrom: aws.String("arn:aws:ssm:us-east-1:123456789012:parameter/FAKE/secret/param")})
		c.Environment = append(c.Environment, ecstypes.KeyValuePair{Name: aws.String("PASSWORD"), Value: aws.String("FAKE-hunter2-hunter2")})
	}
	delivered := 0
	for i, f := range families {
		var mut func(*ecs.RegisterTaskDefinitionInput)
		if i == 2 {
			mut = withCredentials
		}
		in, o := register(f, mut)
		td := o.TaskDefinition
		call := harness.RegisterCall{
			EventID: fmt.Sprintf("5ec00000-0000-4000-8000-%012d", i+1), TaskDefinitionARN: aws.ToString(td.TaskDefinitionArn),
			Family: f.name, Revision: td.Revision, Identity: harness.IAMUser("jane.doe"), UserAgent: userAgent, Request: requestBody(t, in),
		}
		if err := s.PutRegisterEvent(ctx, call); err != nil {
			t.Fatal(err)
		}
	}
	deliveries, err := s.Pump(ctx)
	if err != nil {
		t.Fatal(err)
	}
	delivered += len(deliveries)
	// Positive control: the secrets did enter the pipeline (detect
	// received the plain-text bodies).
	for _, d := range deliveries {
		for _, v := range eventOnly {
			if !strings.Contains(string(d.Event), v) {
				t.Errorf("the delivered event lacks the event-only value %q: the test proves nothing", v)
			}
		}
	}
	for _, d := range deliveries {
		if err := d.Invocation.Err(d.Target.Function); err != nil {
			t.Errorf("detect: %v", err)
		}
	}
	execs, err := s.Executions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(execs) != len(families) {
		t.Fatalf("%d executions, want %d", len(execs), len(families))
	}
	for _, e := range execs {
		if e.Status != sfntypes.ExecutionStatusSucceeded {
			h, _ := harness.History(ctx, s.SFN, aws.ToString(e.ExecutionArn))
			t.Errorf("execution %s: %s\n%s", aws.ToString(e.Name), e.Status, h)
		}
	}

	// One execution that fails: the real remediate function's
	// RegisterTaskDefinition gets an AWS error whose message quotes a
	// secret; the failure notification carries the execution input and the
	// error's cause.
	in, o := register(family{"td37-secrets-envfiles.json", "sec-failure"}, nil)
	secrets = append(secrets, awsMessageSecret)
	if err := s.Proxy.SetRules([]faultproxy.Rule{{API: "ecs:RegisterTaskDefinition", Rates: map[faultproxy.Kind]float64{faultproxy.ClientError: 1}, Message: awsMessage}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRegisterEvent(ctx, harness.RegisterCall{
		EventID: "5ec00000-0000-4000-8000-000000000099", TaskDefinitionARN: aws.ToString(o.TaskDefinition.TaskDefinitionArn),
		Family: "sec-failure", Revision: o.TaskDefinition.Revision, Identity: harness.IAMUser("jane.doe"), Request: requestBody(t, in),
	}); err != nil {
		t.Fatal(err)
	}
	if deliveries, err = s.Pump(ctx); err != nil || len(deliveries) != 1 {
		t.Fatalf("pump: %d %v", len(deliveries), err)
	}
	delivered++
	if execs, err = s.Executions(ctx); err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, e := range execs {
		if e.Status == sfntypes.ExecutionStatusFailed {
			failed++
		}
	}
	if failed != 1 {
		t.Errorf("%d FAILED executions, want 1", failed)
	}
	if err := s.Proxy.SetRules(nil); err != nil {
		t.Fatal(err)
	}
	// Positive control: the AWS error was answered, and its message
	// reached the failed execution's history (without the secret).
	if n := s.Proxy.Stats().APIs["ecs:RegisterTaskDefinition"].Faults[faultproxy.ClientError]; n == 0 {
		t.Error("no RegisterTaskDefinition got the AWS error: the failure path proves nothing")
	}

	// Error text on the detect and notify paths: the next
	// DescribeTaskDefinition (detect's re-read of the revision) and the
	// next Publish (the remediated family's notice) get an AWS error
	// quoting a secret. Detect's invocation fails, and the event is
	// delivered again, as Lambda retries an asynchronous invocation;
	// Notify's error is caught, and NotifyFailure publishes the failure.
	sources := map[string]string{}
	in, o = register(family{"td03-splunk.json", "sec-error-text"}, nil)
	secrets = append(secrets, detectMessageSecret, notifyMessageSecret)
	if err := s.Proxy.SetRules([]faultproxy.Rule{
		{API: "ecs:DescribeTaskDefinition", Script: []faultproxy.Kind{faultproxy.ClientError}, Message: detectMessage},
		{API: "sns:Publish", Script: []faultproxy.Kind{faultproxy.ClientError}, Message: notifyMessage},
	}); err != nil {
		t.Fatal(err)
	}
	errorCall := harness.RegisterCall{
		EventID: "5ec00000-0000-4000-8000-000000000098", TaskDefinitionARN: aws.ToString(o.TaskDefinition.TaskDefinitionArn),
		Family: "sec-error-text", Revision: o.TaskDefinition.Revision, Identity: harness.IAMUser("jane.doe"), UserAgent: userAgent, Request: requestBody(t, in),
	}
	for attempt := 1; attempt <= 2; attempt++ {
		if err := s.PutRegisterEvent(ctx, errorCall); err != nil {
			t.Fatal(err)
		}
		if deliveries, err = s.Pump(ctx); err != nil || len(deliveries) != 1 {
			t.Fatalf("pump: %d %v", len(deliveries), err)
		}
		delivered++
		inv := deliveries[0].Invocation
		sources[fmt.Sprintf("detect's answer to delivery %d of sec-error-text (what Lambda records of an asynchronous invocation)", attempt)] = inv.ErrorType + " " + inv.ErrorMessage + " " + string(inv.Payload)
		err := inv.Err(deliveries[0].Target.Function)
		switch {
		case attempt == 1 && err == nil:
			t.Error("detect did not fail on the AWS error: the detect error path proves nothing")
		case attempt == 1 && !strings.Contains(inv.ErrorMessage, detectMessageShown):
			t.Errorf("detect's error lacks the AWS error's message %q: %s", detectMessageShown, inv.ErrorMessage)
		case attempt == 2 && err != nil:
			t.Errorf("detect, delivered again: %v", err)
		}
	}
	if execs, err = s.Executions(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Proxy.SetRules(nil); err != nil {
		t.Fatal(err)
	}
	for _, api := range []string{"ecs:DescribeTaskDefinition", "sns:Publish"} {
		if n := s.Proxy.Stats().APIs[api].Faults[faultproxy.ClientError]; n != 1 {
			t.Errorf("%s got the AWS error %d times, want 1", api, n)
		}
	}
	failed = 0
	for _, e := range execs {
		if e.Status == sfntypes.ExecutionStatusFailed {
			failed++
		}
	}
	if len(execs) != len(families)+2 || failed != 2 {
		t.Errorf("%d executions, %d FAILED; want %d, 2 (the AWS error failed Notify, and NotifyFailure ends FAILED)", len(execs), failed, len(families)+2)
	}

	// Error text on the sweep's path: the walk's first read of a family's
	// latest revision (DescribeTaskDefinition) gets an AWS error quoting a
	// secret; that family is an error of the walk's result, and the
	// sweep's digest, which notify publishes, lists it.
	secrets = append(secrets, sweepMessageSecret)
	before := s.Proxy.Stats().APIs["ecs:DescribeTaskDefinition"].Faults[faultproxy.ClientError]
	if err := s.Proxy.SetRules([]faultproxy.Rule{{API: "ecs:DescribeTaskDefinition", Script: []faultproxy.Kind{faultproxy.ClientError}, Message: sweepMessage}}); err != nil {
		t.Fatal(err)
	}
	arns, err := s.StartSchedule(ctx, names.Rule("sweep"), "sec-sweep")
	if err != nil {
		t.Fatal(err)
	}
	sw, err := harness.WaitExecution(ctx, s.SFN, arns[0])
	if err != nil {
		t.Fatal(err)
	}
	if sw.Status != sfntypes.ExecutionStatusSucceeded {
		h, _ := harness.History(ctx, s.SFN, arns[0])
		t.Errorf("sweep: %s\n%s", sw.Status, h)
	}
	if execs, err = s.Executions(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Proxy.SetRules(nil); err != nil {
		t.Fatal(err)
	}
	if n := s.Proxy.Stats().APIs["ecs:DescribeTaskDefinition"].Faults[faultproxy.ClientError] - before; n != 1 {
		t.Errorf("the sweep's DescribeTaskDefinition got the AWS error %d times, want 1", n)
	}
	shown := false
	notifyShown := false

	// Everything that left the functions.
	published, err := s.Moto.Published(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(published) < len(families)+1 {
		t.Errorf("%d messages published, want ≥ %d", len(published), len(families)+1)
	}
	for i, p := range published {
		b, _ := json.Marshal(p)
		sources[fmt.Sprintf("published message %d (every format)", i)] = string(b)
		for _, proto := range []string{"email", "https", "sqs", "lambda", "default"} {
			sources[fmt.Sprintf("published message %d, %s format", i, proto)] = p.Structured(proto)
		}
	}
	subscribed, err := s.Notifications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range subscribed {
		b, _ := json.Marshal(n)
		sources[fmt.Sprintf("SQS-delivered notification %d", i)] = string(b)
	}
	for _, e := range execs {
		events, err := harness.HistoryEvents(ctx, s.SFN, aws.ToString(e.ExecutionArn))
		if err != nil {
			t.Fatal(err)
		}
		h, _ := json.Marshal(events)
		sources["execution "+aws.ToString(e.Name)+" input/output/history"] = aws.ToString(e.Input) + aws.ToString(e.Output) + string(h)
		shown = shown || strings.Contains(string(h), awsMessageShown)
		notifyShown = notifyShown || strings.Contains(string(h), notifyMessageShown)
	}
	if !shown {
		t.Errorf("no execution history shows the AWS error's message %q: the planted secret reached nothing", awsMessageShown)
	}
	if !notifyShown {
		t.Errorf("no execution history shows notify's AWS error's message %q: the planted secret reached nothing", notifyMessageShown)
	}
	bodies := slack.Bodies()
	for i, b := range bodies {
		sources[fmt.Sprintf("Slack webhook body %d", i)] = b
	}
	if len(bodies) != len(published) {
		t.Errorf("the Slack webhook received %d bodies, want one per published notification (%d)", len(bodies), len(published))
	}
	records := historyRecords(ctx, t, s)
	maps.Copy(sources, records)
	checkHistory(t, records, registered)
	// Positive control: the sweep's per-family report keeps the rest of
	// its AWS error's message.
	sweepShown := false
	for where, text := range records {
		sweepShown = sweepShown || strings.Contains(where, "/sweeps/sec-sweep/report.jsonl") && strings.Contains(text, sweepMessageShown)
	}
	if !sweepShown {
		t.Errorf("the sweep's report does not show its AWS error's message %q: the planted secret reached nothing", sweepMessageShown)
	}
	findings := securityHubFindings(ctx, t, s)
	maps.Copy(sources, findings)
	outputs := cliOutputs(ctx, t, s.Config, registered)
	maps.Copy(sources, outputs)
	checkReaches(t, sources, awsMessageShown, notifyMessageShown)
	checkChatbot(t, sources)
	sources["the processes' output (every line the bootstraps, the emulators and moto wrote)"] = out.String()
	for name, f := range s.Functions {
		sources["log tail of "+name] = f.Logs()
	}
	sort.Strings(secrets)
	secrets = compact(secrets)
	leaks := 0
	for where, text := range sources {
		for _, sec := range secrets {
			if strings.Contains(text, sec) {
				leaks++
				t.Errorf("PRIVACY: %q appears in %s", sec, where)
			}
		}
	}
	if len(secrets) < 15 {
		t.Errorf("only %d secret-looking values checked: the corpus changed?", len(secrets))
	}
	for _, v := range []string{tagSecret, optionSecret, secretOptSecret} {
		if !slices.Contains(secrets, v) {
			t.Errorf("planted value %q is not among the values checked", v)
		}
	}
	// Positive control: the planted names reach the notifications, so
	// the fields carrying the values next to them do too.
	for _, name := range allowed {
		found := false
		for _, p := range published {
			found = found || strings.Contains(p.Structured("email"), name)
		}
		if !found {
			t.Errorf("the planted name %q appears in no email: the planted fields reach no notification", name)
		}
	}
	t.Logf("%d secret-looking values checked in %d sources (%d notifications, %d Slack bodies, %d history records, %d Security Hub findings, %d CLI outputs, %d executions); synth %s, total %s",
		len(secrets), len(sources), len(subscribed), len(bodies), len(records), len(findings), len(outputs), len(execs), synthTime.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	reliability.Record(t, reliability.Result{
		ID: "secret-leakage", Scenario: "secret leakage: env values, secrets, secretOptions, repositoryCredentials, raw CloudTrail bodies", Runs: 1, Passed: 1,
		Registrations: len(registered), Notifications: len(subscribed),
		Note: fmt.Sprintf("full local pipeline (synthesized stack, moto Step Functions, bootstraps under the emulator); %d events; %d values × %d sources (every notification format, %d Slack webhook bodies, %d history records, %d Security Hub findings, %d CLI outputs (scan, fix, backout; text, json, csv; stdout and stderr), %d executions' input/output/history, detect's answers, all process output), %d leaks; AWS errors quoting a secret in remediate (a FAILED execution), detect, notify and the sweep",
			delivered, len(secrets), len(sources), len(bodies), len(records), len(findings), len(outputs), len(execs), leaks),
	})
}

func compact(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// checkDefinition asserts that the synthesized state machine runs
// stacks.Definition, which the in-process scenarios interpret.
func checkDefinition(t *testing.T, syn *synth.Stack) {
	t.Helper()
	names := syn.Config.Names()
	for _, r := range syn.Template.Resources("AWS::StepFunctions::StateMachine") {
		if syn.Template.PhysicalName(r.LogicalID) != names.StateMachine() {
			continue // the sweep's, which the scenarios do not interpret
		}
		def, err := syn.Template.ResolveString(r.Properties["DefinitionString"])
		if err != nil {
			t.Fatalf("definition: %v", err)
		}
		var got, want any
		if err := json.Unmarshal([]byte(def), &got); err != nil {
			t.Fatal(err)
		}
		fnARN := func(fn string) string {
			return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", localaws.Region, localaws.Account, names.Function(fn))
		}
		for _, pair := range [][2]string{{names.Function(naming.FunctionRemediate), names.Function(naming.FunctionNotify)}, {fnARN(naming.FunctionRemediate), fnARN(naming.FunctionNotify)}} {
			if err := json.Unmarshal([]byte(asl.Definition(localaws.Partition, pair[0], pair[1])), &want); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) == fmt.Sprint(want) {
				return
			}
		}
		t.Errorf("the synthesized definition is not stacks.Definition:\n%s", def)
	}
}

func mkdir(t *testing.T, p string) string {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}
