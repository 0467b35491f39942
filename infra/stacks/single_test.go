package stacks

import (
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/ecslogfix/ecslogfix/infra/pipeline"
	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/internal/metrics"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
	"github.com/ecslogfix/ecslogfix/internal/workflow/asl"
)

// roleStatements returns the Allow/Deny statements granted to the role
// named roleName: its inline policies and the AWS::IAM::Policy resources
// attached to it.
func roleStatements(t *testing.T, tmpl Template, roleName string) []map[string]any {
	t.Helper()
	var id string
	var out []map[string]any
	for rid, props := range tmpl.Resources("AWS::IAM::Role") {
		if props["RoleName"] == roleName {
			id = rid
			pols, _ := props["Policies"].([]any)
			for _, p := range pols {
				out = append(out, statements(p.(map[string]any)["PolicyDocument"])...)
			}
		}
	}
	if id == "" {
		t.Fatalf("no role named %s", roleName)
	}
	for _, props := range tmpl.Resources("AWS::IAM::Policy") {
		for _, r := range strs(props["Roles"]) {
			if r == "${"+id+"}" {
				out = append(out, statements(props["PolicyDocument"])...)
			}
		}
	}
	return out
}

// actionsOf maps each action granted (Allow) to its flattened resources.
func actionsOf(stmts []map[string]any) map[string][]string {
	out := map[string][]string{}
	for _, s := range stmts {
		if s["Effect"] != "Allow" {
			continue
		}
		for _, a := range strs(s["Action"]) {
			out[a] = append(out[a], strs(s["Resource"])...)
		}
	}
	return out
}

func keys[M ~map[string]V, V any](m M) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestRegisterRulePatternOnDefaultBus(t *testing.T) {
	tmpl := single(t).Template
	var found bool
	for id, props := range tmpl.Resources("AWS::Events::Rule") {
		if props["EventPattern"] == nil {
			continue
		}
		found = true
		if _, ok := props["EventBusName"]; ok {
			t.Errorf("%s: not on the default bus: %v", id, props["EventBusName"])
		}
		got, _ := json.Marshal(props["EventPattern"])
		want := `{"detail":{"errorCode":[{"exists":false}],"eventName":["RegisterTaskDefinition"],"eventSource":["ecs.amazonaws.com"]},"detail-type":["AWS API Call via CloudTrail"],"source":["aws.ecs"]}`
		if string(got) != want {
			t.Errorf("pattern\n got %s\nwant %s", got, want)
		}
		wantPattern, _ := json.Marshal(pipeline.RegisterEventPattern())
		if string(wantPattern) != want {
			t.Errorf("pipeline.RegisterEventPattern() = %s", wantPattern)
		}
	}
	if !found {
		t.Fatal("no event-pattern rule")
	}
}

func TestEveryRuleTargetHasDLQAndRetryPolicy(t *testing.T) {
	for name, s := range map[string]*Synthesized{"single": single(t), "hub": hub(t)} {
		n := 0
		var sweep bool
		for id, props := range s.Template.Resources("AWS::Events::Rule") {
			for _, tg := range props["Targets"].([]any) {
				n++
				target := tg.(map[string]any)
				if dlq := target["DeadLetterConfig"]; dlq == nil {
					t.Errorf("%s %s: target without DeadLetterConfig", name, id)
				}
				rp, _ := target["RetryPolicy"].(map[string]any)
				if rp["MaximumRetryAttempts"] != float64(pipeline.TargetRetryAttempts) || rp["MaximumEventAgeInSeconds"] != float64(pipeline.TargetMaxEventAge*3600) {
					t.Errorf("%s %s: retry policy %v", name, id, rp)
				}
				if props["ScheduleExpression"] != nil {
					sweep = true
					// The schedule starts the sweep state machine, through a
					// role that may start it.
					sm := mustID(t, s.Template, "AWS::StepFunctions::StateMachine", "StateMachineName", "ecslogfix-sweep")
					if props["ScheduleExpression"] != "rate(1 day)" || target["Input"] != `{}` || Flatten(target["Arn"]) != "${"+sm+"}" || target["RoleArn"] == nil {
						t.Errorf("%s sweep rule: %v input %v target %v", name, props["ScheduleExpression"], target["Input"], target["Arn"])
					}
				}
			}
		}
		if n != 2 || !sweep {
			t.Errorf("%s: %d targets, sweep %v; want the register rule and the sweep", name, n, sweep)
		}
	}
	// Both dead-letter queues (the targets', detect's on-failure one) are
	// encrypted, refuse plain HTTP and declare themselves DLQs.
	tmpl := single(t).Template
	queues := tmpl.Resources("AWS::SQS::Queue")
	if len(queues) != 2 {
		t.Errorf("%d queues, want the targets' DLQ and detect's on-failure queue", len(queues))
	}
	for id, props := range queues {
		if props["SqsManagedSseEnabled"] != true || Flatten(props["RedriveAllowPolicy"]) != `{"redrivePermission":"allowAll"}` {
			t.Errorf("%s: %v", id, props)
		}
	}
	ssl := 0
	for _, props := range tmpl.Resources("AWS::SQS::QueuePolicy") {
		for _, s := range statements(props["PolicyDocument"]) {
			if s["Effect"] == "Deny" && Flatten(s["Condition"]) == `{"Bool":{"aws:SecureTransport":"false"}}` {
				ssl++
			}
		}
	}
	if ssl != 2 {
		t.Errorf("%d queue policies enforce SSL, want 2", ssl)
	}
}

// EventBridge invokes detect asynchronously: after Lambda's retries a
// failed event goes to the on-failure queue (the targets' DLQ only sees
// delivery failures), which an alarm watches. The sweep is invoked by its
// state machine, synchronously, whose Retry and the sweep's failure alarm
// take that part.
func TestDetectFailuresAreKept(t *testing.T) {
	tmpl := single(t).Template
	configs := tmpl.Resources("AWS::Lambda::EventInvokeConfig")
	if len(configs) != 1 {
		t.Fatalf("%d event invoke configs, want detect's", len(configs))
	}
	queue := mustQueue(t, tmpl, "DetectFailures")
	fns := map[string]bool{}
	for _, p := range configs {
		fns[Flatten(p["FunctionName"])] = true
		if flat(p["DestinationConfig"]) != `{"OnFailure":{"Destination":"${`+queue+`.Arn}"}}` {
			t.Errorf("event invoke config %v", p)
		}
	}
	if !fns["${"+mustFn(t, tmpl, "ecslogfix-detect")+"}"] {
		t.Errorf("detect has no on-failure destination: %v", fns)
	}
	var alarmed bool
	for _, p := range tmpl.Resources("AWS::CloudWatch::Alarm") {
		if flat(p["Dimensions"]) == `[{"Name":"QueueName","Value":"${`+queue+`.QueueName}"}]` {
			alarmed = true
		}
	}
	if !alarmed {
		t.Error("no alarm on the on-failure queue")
	}
}

func mustQueue(t *testing.T, tmpl Template, prefix string) string {
	t.Helper()
	for id := range tmpl.Resources("AWS::SQS::Queue") {
		if strings.HasPrefix(id, prefix) {
			return id
		}
	}
	t.Fatalf("no queue %s*", prefix)
	return ""
}

func TestFunctionsRuntimeArchitectureHandler(t *testing.T) {
	s := single(t)
	names := singleConfig(t).Names()
	for _, fn := range naming.Functions() {
		id, err := s.Template.FunctionLogicalID(names.Function(fn))
		if err != nil {
			t.Fatal(err)
		}
		p := s.Template.Resource(id)["Properties"].(map[string]any)
		if p["Runtime"] != "provided.al2023" || Flatten(p["Architectures"]) != "arm64" || p["Handler"] != "bootstrap" ||
			p["MemorySize"] != float64(128) || p["Timeout"] != pipeline.FunctionTimeout[fn] {
			t.Errorf("%s: runtime %v arch %v handler %v memory %v timeout %v", fn, p["Runtime"], p["Architectures"], p["Handler"], p["MemorySize"], p["Timeout"])
		}
		if p["TracingConfig"] != nil {
			t.Errorf("%s: unexpected tracing %v", fn, p["TracingConfig"])
		}
		// Nothing reserves concurrency by default: a reservation rolls the
		// first deployment back in an account whose quota is 10.
		if p["ReservedConcurrentExecutions"] != nil || p["VpcConfig"] != nil {
			t.Errorf("%s: reserved concurrency %v, VPC %v", fn, p["ReservedConcurrentExecutions"], p["VpcConfig"])
		}
		lc, _ := p["LoggingConfig"].(map[string]any)
		if lc["LogFormat"] != "JSON" || Flatten(lc["LogGroup"]) == "" {
			t.Errorf("%s: logging %v", fn, lc)
		}
	}
	// Own log groups keep logs a year (CT.CLOUDWATCH.PR.2), encrypted
	// with the stack's key (CT.CLOUDWATCH.PR.3).
	key := keys(s.Template.Resources("AWS::KMS::Key"))[0]
	groups := s.Template.Resources("AWS::Logs::LogGroup")
	if len(groups) != len(naming.Functions())+2 {
		t.Errorf("%d log groups, want one per function and each state machine's", len(groups))
	}
	for id, p := range groups {
		if p["RetentionInDays"] != float64(365) || Flatten(p["KmsKeyId"]) != "${"+key+".Arn}" {
			t.Errorf("%s: retention %v, key %v", id, p["RetentionInDays"], p["KmsKeyId"])
		}
	}
}

func TestFunctionEnvironments(t *testing.T) {
	s := single(t)
	names := singleConfig(t).Names()
	envs := map[string]map[string]string{}
	for _, fn := range naming.Functions() {
		env, err := s.Template.FunctionEnvironment(names.Function(fn))
		if err != nil {
			t.Fatal(err)
		}
		envs[fn] = env
		// The whole budget (0.5/s) for the sweep's starts, and for each
		// remediate instance while no concurrency is reserved.
		switch fn {
		case naming.FunctionDetect:
			if env[fnenv.EnvMode] != "single" || env[fnenv.EnvOwnRoleARNs] != "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/ecslogfix-remediate" {
				t.Errorf("%s env: %v", fn, env)
			}
		case naming.FunctionSweep:
			if env[fnenv.EnvMode] != "single" || env[fnenv.EnvStartRate] != "0.5" {
				t.Errorf("%s env: %v", fn, env)
			}
		case naming.FunctionRemediate:
			if env[fnenv.EnvRegisterRate] != "0.5" {
				t.Errorf("%s env: %v", fn, env)
			}
		case naming.FunctionNotify:
			if _, ok := env[fnenv.EnvPolicy]; ok {
				t.Errorf("notify has the policy, which it does not read: %v", env)
			}
			continue
		}
		var pol map[string]any
		if err := json.Unmarshal([]byte(env[fnenv.EnvPolicy]), &pol); err != nil {
			t.Fatalf("%s: policy is not JSON: %v", fn, err)
		}
		if pol["defaultExecutionRoleArn"] != "${DefaultExecutionRole.Arn}" || pol["logGroupTemplate"] != "/ecs/{family}" {
			t.Errorf("%s: policy %v", fn, pol)
		}
	}
	for _, fn := range []string{naming.FunctionDetect, naming.FunctionSweep} {
		if got := envs[fn][fnenv.EnvStateMachineARN]; got != "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:ecslogfix-remediation" {
			t.Errorf("%s state machine ARN %q", fn, got)
		}
	}
	if got := envs["notify"][fnenv.EnvTopicARN]; !strings.HasPrefix(got, "${Topic") {
		t.Errorf("notify topic ARN %q", got)
	}
	if got := envs["notify"][fnenv.EnvSlackWebhookARN]; got != singleConfig(t).SlackWebhookSecretARN {
		t.Errorf("notify webhook %q", got)
	}
	for _, fn := range []string{"remediate", "notify"} {
		if _, ok := envs[fn][fnenv.EnvStateMachineARN]; ok {
			t.Errorf("%s has the state machine ARN", fn)
		}
	}
}

func TestStateMachineDefinition(t *testing.T) {
	s := single(t)
	def, err := s.Template.StateMachineDefinition("ecslogfix-remediation", "aws")
	if err != nil {
		t.Fatal(err)
	}
	if def != asl.Definition("aws", "ecslogfix-remediate", "ecslogfix-notify") {
		t.Fatal("deployed definition differs from Definition()")
	}
	// The integration ARN takes the stack's partition: a literal
	// arn:aws:states:::lambda:invoke fails every execution in aws-cn and
	// aws-us-gov.
	if raw := Flatten(s.Template.Resource(mustID(t, s.Template, "AWS::StepFunctions::StateMachine", "StateMachineName", "ecslogfix-remediation"))["Properties"].(map[string]any)["DefinitionString"]); strings.Count(raw, `"arn:${AWS::Partition}:states:::lambda:invoke"`) != 6 || strings.Contains(raw, "arn:aws:") {
		t.Errorf("the definition does not name the integration in the stack's partition:\n%s", raw)
	}
	if cn, err := s.Template.StateMachineDefinition("ecslogfix-remediation", "aws-cn"); err != nil || cn != asl.Definition("aws-cn", "ecslogfix-remediate", "ecslogfix-notify") {
		t.Errorf("aws-cn rendering: %v", err)
	}
	d := mustJSON(t, def)
	states := d["States"].(map[string]any)
	wantStates := []string{workflow.StateCheckMode, workflow.StateDone, workflow.StateEnsureLogGroups, workflow.StateEnsureLogGroupsFailed,
		workflow.StateFailed, workflow.StateNotify, workflow.StateNotifyFailed, workflow.StateNotifyFailure, workflow.StateRegister, workflow.StateRegisterFailed,
		workflow.StateRollout, workflow.StateRolloutChoice, workflow.StateRolloutSettled, workflow.StateRolloutWait, workflow.StateWatch}
	if got := keys(states); !reflect.DeepEqual(got, wantStates) {
		t.Fatalf("states %v", got)
	}
	if d["StartAt"] != workflow.StateCheckMode || d["QueryLanguage"] != "JSONPath" {
		t.Errorf("StartAt %v QueryLanguage %v", d["StartAt"], d["QueryLanguage"])
	}
	st := func(name string) map[string]any { return states[name].(map[string]any) }
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }

	if got := js(st(workflow.StateCheckMode)); got != `{"Choices":[{"Next":"Register","StringEquals":"report","Variable":"$.enforcement"}],"Default":"EnsureLogGroups","Type":"Choice"}` {
		t.Errorf("CheckMode %s", got)
	}
	lambdaErrs := `"Lambda.ServiceException","Lambda.AWSLambdaException","Lambda.SdkClientException"`
	retryN := func(attempts, errs string) string {
		return `{"BackoffRate":2,"ErrorEquals":[` + errs + `],"IntervalSeconds":2,"JitterStrategy":"FULL","MaxAttempts":` + attempts + `,"MaxDelaySeconds":60}`
	}
	queued := strconv.Itoa(asl.QueuedAttempts())
	// Every Task: our "wait for your turn" errors, then Lambda's throttle
	// (both sized for the budgeted burst), then Lambda's service errors.
	retries := func(errs string) string {
		return "[" + retryN(queued, errs) + "," + retryN(queued, `"Lambda.TooManyRequestsException"`) + "," + retryN("6", lambdaErrs) + "]"
	}
	catch := func(next string) string {
		return `[{"ErrorEquals":["States.ALL"],"Next":"` + next + `","ResultPath":"$.error"}]`
	}
	// A rollout step's failure is caught into the registered result and
	// notified: the revision is never turned into a FAILED execution.
	rolloutCatch := `[{"ErrorEquals":["States.ALL"],"Next":"Notify","ResultPath":"$.registered.result.rolloutError"}]`
	for _, tc := range []struct {
		state, params, selector, resultPath, retry, catch, next string
	}{
		{workflow.StateEnsureLogGroups, `{"FunctionName":"ecslogfix-remediate","Payload":{"action":"ensure-log-group","input.$":"$"}}`,
			`{"logGroups.$":"$.Payload.logGroups"}`, `"$.ensured"`,
			retries(`"ThrottledError"`), catch(workflow.StateEnsureLogGroupsFailed), workflow.StateRegister},
		{workflow.StateRegister, `{"FunctionName":"ecslogfix-remediate","Payload":{"action":"register","input.$":"$"}}`,
			`{"result.$":"$.Payload"}`, `"$.registered"`,
			retries(`"ThrottledError","ConcurrentRevisionError"`), catch(workflow.StateRegisterFailed), workflow.StateRolloutChoice},
		{workflow.StateRollout, `{"FunctionName":"ecslogfix-remediate","Payload":{"action":"rollout","input.$":"$"}}`,
			`{"result.$":"$.Payload"}`, `"$.registered"`,
			retries(`"ThrottledError"`), rolloutCatch, workflow.StateRolloutSettled},
		{workflow.StateWatch, `{"FunctionName":"ecslogfix-remediate","Payload":{"action":"watch","input.$":"$"}}`,
			`{"result.$":"$.Payload"}`, `"$.registered"`,
			retries(`"ThrottledError"`), rolloutCatch, workflow.StateRolloutSettled},
		{workflow.StateNotify, `{"FunctionName":"ecslogfix-notify","Payload":{"executionArn.$":"$$.Execution.Id","result.$":"$.registered.result"}}`,
			`null`, `null`, retries(`"ThrottledError"`), catch(workflow.StateNotifyFailed), workflow.StateDone},
		{workflow.StateNotifyFailure, `{"FunctionName":"ecslogfix-notify","Payload":{"executionArn.$":"$$.Execution.Id","failure":{"cause.$":"$.error.Cause","error.$":"$.error.Error","input.$":"$","state.$":"$.failedState"}}}`,
			`null`, `null`, retries(`"ThrottledError"`), `null`, workflow.StateFailed},
	} {
		s := st(tc.state)
		for field, want := range map[string]string{"Type": `"Task"`, "Resource": `"arn:aws:states:::lambda:invoke"`, "Parameters": tc.params,
			"ResultSelector": tc.selector, "ResultPath": tc.resultPath, "Retry": tc.retry, "Catch": tc.catch, "Next": `"` + tc.next + `"`} {
			if got := js(s[field]); got != want {
				t.Errorf("%s.%s\n got %s\nwant %s", tc.state, field, got, want)
			}
		}
	}
	for failed, task := range map[string]string{workflow.StateEnsureLogGroupsFailed: workflow.StateEnsureLogGroups,
		workflow.StateRegisterFailed: workflow.StateRegister, workflow.StateNotifyFailed: workflow.StateNotify} {
		want := `{"Next":"NotifyFailure","Result":"` + task + `","ResultPath":"$.failedState","Type":"Pass"}`
		if got := js(st(failed)); got != want {
			t.Errorf("%s = %s, want %s", failed, got, want)
		}
	}
	for name, want := range map[string]string{
		workflow.StateRolloutChoice:  `{"Choices":[{"Next":"Rollout","StringEquals":"REMEDIATED","Variable":"$.registered.result.outcome"}],"Default":"Notify","Type":"Choice"}`,
		workflow.StateRolloutSettled: `{"Choices":[{"BooleanEquals":true,"Next":"Notify","Variable":"$.registered.result.rollout.settled"}],"Default":"RolloutWait","Type":"Choice"}`,
		workflow.StateRolloutWait:    `{"Next":"Watch","SecondsPath":"$.registered.result.rollout.waitSeconds","Type":"Wait"}`,
	} {
		if got := js(st(name)); got != want {
			t.Errorf("%s = %s, want %s", name, got, want)
		}
	}
	if st(workflow.StateDone)["Type"] != "Succeed" || st(workflow.StateFailed)["Type"] != "Fail" {
		t.Error("Done/Failed types")
	}

	// Standard, X-Ray, logging ALL without execution data (both state
	// machines).
	for _, p := range s.Template.Resources("AWS::StepFunctions::StateMachine") {
		if p["StateMachineType"] != "STANDARD" || (p["StateMachineName"] != "ecslogfix-remediation" && p["StateMachineName"] != "ecslogfix-sweep") ||
			js(p["TracingConfiguration"]) != `{"Enabled":true}` {
			t.Errorf("state machine %v %v %v", p["StateMachineType"], p["StateMachineName"], p["TracingConfiguration"])
		}
		lc := p["LoggingConfiguration"].(map[string]any)
		if lc["Level"] != "ALL" || lc["IncludeExecutionData"] != false || lc["Destinations"] == nil {
			t.Errorf("logging %v", lc)
		}
	}
}

func TestASLValidator(t *testing.T) {
	root, _ := ModuleRoot(".")
	bin := requireTool(t, "asl-validator", filepath.Join(root, ".tools/node_modules/.bin/asl-validator"))
	def, err := single(t).Template.StateMachineDefinition("ecslogfix-remediation", "aws")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "definition.json")
	if err := os.WriteFile(path, []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "--json-path", path).CombinedOutput(); err != nil {
		t.Fatalf("asl-validator: %v\n%s", err, out)
	}
	// The validator does catch a broken definition.
	broken := strings.Replace(def, `"Next":"NotifyFailure"`, `"Next":"Nowhere"`, 1)
	if err := os.WriteFile(path, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "--json-path", path).CombinedOutput(); err == nil {
		t.Fatalf("asl-validator accepted a dangling Next:\n%s", out)
	}
}

func TestIAMLeastPrivilegeSingle(t *testing.T) {
	tmpl := single(t).Template
	cfg := singleConfig(t)
	n := cfg.Names()
	logs := func(fn string) string {
		return "${" + mustID(t, tmpl, "AWS::Logs::LogGroup", "LogGroupName", n.FunctionLogGroup(fn)) + ".Arn}"
	}
	failures := "${" + mustQueue(t, tmpl, "DetectFailures") + ".Arn}"
	bucket := "${" + keys(tmpl.Resources("AWS::S3::Bucket"))[0] + ".Arn}"
	want := map[string]map[string][]string{
		n.FunctionRole("detect"): {
			"logs:CreateLogStream": {logs("detect")}, "logs:PutLogEvents": {logs("detect")},
			"ecs:DescribeTaskDefinition": {"*"}, "ecs:ListTaskDefinitionFamilies": {"*"}, "ecs:ListAccountSettings": {"*"},
			"logs:DescribeLogGroups":   {"*"},
			"states:StartExecution":    {"arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:ecslogfix-remediation"},
			"states:DescribeExecution": {"arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:ecslogfix-remediation:*"},
			// The on-failure destination (CDK's grant for an SQS destination).
			"sqs:SendMessage": {failures}, "sqs:GetQueueAttributes": {failures}, "sqs:GetQueueUrl": {failures},
		},
		n.FunctionRole("sweep"): {
			"logs:CreateLogStream": {logs("sweep")}, "logs:PutLogEvents": {logs("sweep")},
			"ecs:DescribeTaskDefinition": {"*"}, "ecs:ListTaskDefinitionFamilies": {"*"}, "ecs:ListAccountSettings": {"*"},
			"logs:DescribeLogGroups":   {"*"},
			"states:StartExecution":    {"arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:ecslogfix-remediation"},
			"states:DescribeExecution": {"arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:ecslogfix-remediation:*"},
			// Its own objects; no lambda:InvokeFunction (Step Functions
			// continues a walk) and no on-failure queue (invoked synchronously).
			"s3:PutObject": {bucket + "/sweeps/*"}, "s3:GetObject": {bucket + "/sweeps/*"}, "s3:AbortMultipartUpload": {bucket + "/sweeps/*"},
			"s3:ListBucket": {bucket},
		},
		n.FunctionRole("remediate"): {
			"logs:CreateLogStream": {logs("remediate")}, "logs:PutLogEvents": {logs("remediate")},
			// Wildcard-only in the Service Authorization Reference.
			"ecs:DescribeTaskDefinition": {"*"}, "ecs:DeregisterTaskDefinition": {"*"}, "ecs:ListAccountSettings": {"*"}, "logs:DescribeLogGroups": {"*"},
			"ecs:RegisterTaskDefinition": {"arn:${AWS::Partition}:ecs:*:${AWS::AccountId}:task-definition/*"},
			"ecs:TagResource":            {"arn:${AWS::Partition}:ecs:*:${AWS::AccountId}:task-definition/*"},
			"logs:CreateLogGroup":        {"arn:${AWS::Partition}:logs:*:${AWS::AccountId}:log-group:/ecs/*"},
			"logs:ListTagsForResource":   {"arn:${AWS::Partition}:logs:*:${AWS::AccountId}:log-group:/ecs/*"},
			"logs:PutRetentionPolicy":    {"arn:${AWS::Partition}:logs:*:${AWS::AccountId}:log-group:/ecs/*"},
			"logs:TagResource":           {"arn:${AWS::Partition}:logs:*:${AWS::AccountId}:log-group:/ecs/*"},
			// The task definitions' roles, and the rollout's targets' roles.
			"iam:PassRole": {"arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*", "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*"},
			// The rollout (internal/consumer).
			"ecs:ListClusters": {"*"}, "ecs:ListServices": {"*"},
			"ecs:DescribeServices":  {"arn:${AWS::Partition}:ecs:*:${AWS::AccountId}:service/*"},
			"ecs:UpdateService":     {"arn:${AWS::Partition}:ecs:*:${AWS::AccountId}:service/*"},
			"events:ListEventBuses": {"*"}, "events:ListRules": {"*"},
			"events:ListTargetsByRule": {"arn:${AWS::Partition}:events:*:${AWS::AccountId}:rule/*"},
			"events:PutTargets":        {"arn:${AWS::Partition}:events:*:${AWS::AccountId}:rule/*"},
			"scheduler:ListSchedules":  {"*"},
			"scheduler:GetSchedule":    {"arn:${AWS::Partition}:scheduler:*:${AWS::AccountId}:schedule/*"},
			"scheduler:UpdateSchedule": {"arn:${AWS::Partition}:scheduler:*:${AWS::AccountId}:schedule/*"},
		},
		n.FunctionRole("notify"): {
			"logs:CreateLogStream": {logs("notify")}, "logs:PutLogEvents": {logs("notify")},
			"sns:Publish":                   {"${" + mustID(t, tmpl, "AWS::SNS::Topic", "TopicName", n.Topic()) + "}"},
			"secretsmanager:GetSecretValue": {cfg.SlackWebhookSecretARN},
			// The neutral event, on the default bus only.
			"events:PutEvents": {"arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"},
			// A sweep's outcomes and its digest marker only.
			"s3:PutObject":  {bucket + "/sweeps/*/outcomes/*", bucket + "/sweeps/*/digest.json"},
			"s3:GetObject":  {bucket + "/sweeps/*/outcomes/*", bucket + "/sweeps/*/digest.json"},
			"s3:ListBucket": {bucket},
		},
		n.DefaultExecutionRole(): {
			"logs:CreateLogStream": {"arn:${AWS::Partition}:logs:*:${AWS::AccountId}:log-group:*"},
			"logs:PutLogEvents":    {"arn:${AWS::Partition}:logs:*:${AWS::AccountId}:log-group:*"},
		},
	}
	for role, wantActions := range want {
		stmts := roleStatements(t, tmpl, role)
		if got := actionsOf(stmts); !reflect.DeepEqual(got, wantActions) {
			t.Errorf("role %s grants\n%v\nwant\n%v", role, got, wantActions)
		}
	}
	// iam:PassRole only to ECS tasks (the task definitions' roles) and to
	// EventBridge and Scheduler (the rule targets' and schedules' roles,
	// resent unchanged by the rollout); tags only as a revision is
	// registered; the sweep lists its own prefix only.
	var passConditions []string
	for _, s := range roleStatements(t, tmpl, n.FunctionRole("remediate")) {
		if slices.Contains(strs(s["Action"]), "iam:PassRole") {
			passConditions = append(passConditions, Flatten(s["Condition"]))
		}
	}
	conditions := map[string]string{
		"ecs:TagResource": `{"StringEquals":{"ecs:CreateAction":"RegisterTaskDefinition"}}`,
		"s3:ListBucket":   `{"StringLike":{"s3:prefix":"sweeps/*"}}`,
	}
	for _, role := range []string{n.FunctionRole("remediate"), n.FunctionRole("sweep"), n.FunctionRole("notify")} {
		for _, s := range roleStatements(t, tmpl, role) {
			for action, want := range conditions {
				if role == n.FunctionRole("notify") && action == "s3:ListBucket" {
					want = `{"StringLike":{"s3:prefix":"sweeps/*/outcomes/*"}}`
				}
				if slices.Contains(strs(s["Action"]), action) && Flatten(s["Condition"]) != want {
					t.Errorf("%s: %s condition %v", role, action, s["Condition"])
				}
			}
		}
	}
	if want := []string{`{"StringEquals":{"iam:PassedToService":"ecs-tasks.amazonaws.com"}}`,
		`{"StringEquals":{"iam:PassedToService":["events.amazonaws.com","scheduler.amazonaws.com"]}}`}; !reflect.DeepEqual(passConditions, want) {
		t.Errorf("PassRole conditions %v, want %v", passConditions, want)
	}
	assertNoStarActions(t, tmpl)
}

func mustID(t *testing.T, tmpl Template, typ, prop, value string) string {
	t.Helper()
	for id, p := range tmpl.Resources(typ) {
		if p[prop] == value {
			return id
		}
	}
	t.Fatalf("no %s with %s=%s", typ, prop, value)
	return ""
}

// assertNoStarActions checks every Allow statement of every IAM policy,
// inline role policy, key policy, topic, queue and bus policy.
func assertNoStarActions(t *testing.T, tmpl Template) {
	t.Helper()
	var docs []any
	for _, typ := range []string{"AWS::IAM::Policy", "AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy"} {
		for _, p := range tmpl.Resources(typ) {
			docs = append(docs, p["PolicyDocument"])
		}
	}
	for _, p := range tmpl.Resources("AWS::IAM::Role") {
		docs = append(docs, p["AssumeRolePolicyDocument"])
		pols, _ := p["Policies"].([]any)
		for _, pol := range pols {
			docs = append(docs, pol.(map[string]any)["PolicyDocument"])
		}
	}
	for _, p := range tmpl.Resources("AWS::KMS::Key") {
		docs = append(docs, p["KeyPolicy"])
	}
	n := 0
	for _, d := range docs {
		for _, s := range statements(d) {
			if s["Effect"] != "Allow" {
				continue
			}
			for _, a := range strs(s["Action"]) {
				n++
				if a == "*" || strings.HasSuffix(a, ":*") {
					t.Errorf("star action %q in %v", a, s)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no statements found")
	}
}

func TestStateMachineRole(t *testing.T) {
	tmpl := single(t).Template
	for id, p := range tmpl.Resources("AWS::IAM::Policy") {
		if !strings.HasPrefix(id, "StateMachineRole") {
			continue
		}
		got := actionsOf(statements(p["PolicyDocument"]))
		invoke := append([]string(nil), got["lambda:InvokeFunction"]...)
		sort.Strings(invoke)
		remediate, notify := mustFn(t, tmpl, "ecslogfix-remediate"), mustFn(t, tmpl, "ecslogfix-notify")
		want := []string{"${" + notify + ".Arn}", "${" + notify + ".Arn}:*", "${" + remediate + ".Arn}", "${" + remediate + ".Arn}:*"}
		sort.Strings(want)
		if !reflect.DeepEqual(invoke, want) {
			t.Errorf("state machine may invoke %v, want %v", invoke, want)
		}
		for a := range got {
			if !strings.HasPrefix(a, "lambda:InvokeFunction") && !strings.HasPrefix(a, "logs:") && !strings.HasPrefix(a, "xray:") {
				t.Errorf("state machine role action %s", a)
			}
		}
	}
}

func mustFn(t *testing.T, tmpl Template, name string) string {
	id, err := tmpl.FunctionLogicalID(name)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestTopicKMSAndSSL(t *testing.T) {
	tmpl := single(t).Template
	var keyID string
	for id, p := range tmpl.Resources("AWS::KMS::Key") {
		keyID = id
		if p["EnableKeyRotation"] != true {
			t.Errorf("key rotation %v", p["EnableKeyRotation"])
		}
		users := map[string][]string{}
		conds := map[string]string{}
		for _, s := range statements(p["KeyPolicy"]) {
			pr := s["Principal"].(map[string]any)
			users[s["Sid"].(string)] = append(append(append(strs(s["Effect"]), strs(s["Action"])...), strs(pr["AWS"])...), strs(pr["Service"])...)
			conds[s["Sid"].(string)] = flat(s["Condition"])
		}
		notify := mustID(t, tmpl, "AWS::IAM::Role", "RoleName", "ecslogfix-notify")
		sweep, sweepSM := mustID(t, tmpl, "AWS::IAM::Role", "RoleName", "ecslogfix-sweep"), sweepStateMachineRole(t, tmpl)
		for sid, want := range map[string][]string{
			"NotifyPublishes": {"Allow", "kms:GenerateDataKey", "kms:Decrypt", "${" + notify + ".Arn}"},
			// The SNS developer guide's statement for AWS services
			// publishing to an encrypted topic, as documented: no condition.
			"AlarmsPublish": {"Allow", "kms:GenerateDataKey*", "kms:Decrypt", "cloudwatch.amazonaws.com"},
			"LogsEncrypt": {"Allow", "kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*",
				"logs.${AWS::Region}.${AWS::URLSuffix}"},
			"GrantsOnlyForAWSResources": {"Deny", "kms:CreateGrant", "*"},
			"SweepObjects":              {"Allow", "kms:GenerateDataKey", "kms:Decrypt", "${" + sweep + ".Arn}", "${" + sweepSM + ".Arn}", "${" + notify + ".Arn}"},
		} {
			if got := users[sid]; !reflect.DeepEqual(got, want) {
				t.Errorf("key statement %s: %v, want %v", sid, got, want)
			}
		}
		for sid, want := range map[string]string{
			"AlarmsPublish": "null",
			"LogsEncrypt": `{"ArnLike":{"kms:EncryptionContext:aws:logs:arn":["arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/ecslogfix-detect",` +
				`"arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/ecslogfix-remediate",` +
				`"arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/ecslogfix-notify",` +
				`"arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/ecslogfix-sweep",` +
				`"arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/vendedlogs/states/ecslogfix-remediation",` +
				`"arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/vendedlogs/states/ecslogfix-sweep"]}}`,
			"GrantsOnlyForAWSResources": `{"BoolIfExists":{"aws:PrincipalIsAWSService":"false","kms:GrantIsForAWSResource":"false"}}`,
			// The sweep's objects, through S3 only.
			"SweepObjects": `{"StringEquals":{"kms:ViaService":"s3.${AWS::Region}.${AWS::URLSuffix}"}}`,
		} {
			if conds[sid] != want {
				t.Errorf("key statement %s condition %s, want %s", sid, conds[sid], want)
			}
		}
		if len(users) != 6 {
			t.Errorf("key policy statements %v", keys(users))
		}
		// Kept on deletion and replacement; removed when the first
		// creation rolls back.
		r := tmpl.Resource(id)
		if r["DeletionPolicy"] != "RetainExceptOnCreate" || r["UpdateReplacePolicy"] != "Retain" {
			t.Errorf("key deletion policy %v, update-replace policy %v", r["DeletionPolicy"], r["UpdateReplacePolicy"])
		}
	}
	for _, p := range tmpl.Resources("AWS::SNS::Topic") {
		if Flatten(p["KmsMasterKeyId"]) != "${"+keyID+".Arn}" {
			t.Errorf("topic key %v", p["KmsMasterKeyId"])
		}
	}
	var email bool
	for _, p := range tmpl.Resources("AWS::SNS::Subscription") {
		if p["Protocol"] == "email" && p["Endpoint"] == "ops@example.com" && Flatten(p["TopicArn"]) == "${"+mustID(t, tmpl, "AWS::SNS::Topic", "TopicName", "ecslogfix-notifications")+"}" {
			email = true
		}
	}
	if !email {
		t.Error("no email subscription")
	}
	var ssl, alarms bool
	for _, p := range tmpl.Resources("AWS::SNS::TopicPolicy") {
		for _, s := range statements(p["PolicyDocument"]) {
			if s["Effect"] == "Deny" && Flatten(s["Condition"]) == `{"Bool":{"aws:SecureTransport":"false"}}` {
				ssl = true
			}
			if s["Sid"] == "AlarmsPublish" && Flatten(s["Principal"]) == `{"Service":"cloudwatch.amazonaws.com"}` {
				alarms = true
			}
		}
	}
	if !ssl || !alarms {
		t.Errorf("topic policy: SSL %v, alarms %v", ssl, alarms)
	}
	if n := len(tmpl.Resources("AWS::Chatbot::SlackChannelConfiguration")); n != 1 {
		t.Errorf("%d Chatbot configurations", n)
	}
	for _, p := range tmpl.Resources("AWS::Chatbot::SlackChannelConfiguration") {
		if p["SlackWorkspaceId"] != "T01234567" || p["SlackChannelId"] != "C01234567" || len(strs(p["SnsTopicArns"])) != 1 ||
			p["ConfigurationName"] != "ecslogfix" {
			t.Errorf("chatbot %v", p)
		}
	}
	// Chatbot exists only in the aws partition: the template refuses to
	// deploy elsewhere.
	rules, _ := tmpl["Rules"].(map[string]any)
	if got := Flatten(rules["ChatbotPartition"]); !strings.Contains(got, `"Assert":{"Fn::Equals":[{"Ref":"AWS::Partition"},"aws"]}`) {
		t.Errorf("ChatbotPartition rule %s", got)
	}
}

func TestAlarmsAndDashboard(t *testing.T) {
	tmpl := single(t).Template
	topic := "${" + mustID(t, tmpl, "AWS::SNS::Topic", "TopicName", "ecslogfix-notifications") + "}"
	got := map[string]int{}
	for id, p := range tmpl.Resources("AWS::CloudWatch::Alarm") {
		if Flatten(p["AlarmActions"]) != topic {
			t.Errorf("%s actions %v", id, p["AlarmActions"])
		}
		if p["Metrics"] != nil {
			got["math"]++
			continue
		}
		got[p["Namespace"].(string)+"/"+p["MetricName"].(string)]++
	}
	// Failed executions of both state machines; the sweep's coverage gaps.
	want := map[string]int{"AWS/States/ExecutionsFailed": 2, "AWS/SQS/ApproximateNumberOfMessagesVisible": 2, "AWS/Lambda/Errors": len(naming.Functions()), "math": 1,
		metrics.Namespace + "/" + metrics.CoverageGaps: 1}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("alarms %v, want %v", got, want)
	}
	for _, p := range tmpl.Resources("AWS::CloudWatch::Dashboard") {
		if p["DashboardName"] != "ecslogfix" {
			t.Errorf("dashboard name %v", p["DashboardName"])
		}
		body := Flatten(p["DashboardBody"])
		for _, m := range []string{metrics.Detections, metrics.Remediations, metrics.Blocked, metrics.Failures} {
			if !strings.Contains(body, `"`+metrics.Namespace+`","`+m+`"`) {
				t.Errorf("dashboard lacks %s", m)
			}
		}
	}
}

// Without a CloudTrail trail no RegisterTaskDefinition event ever arrives
// and only the sweep fixes anything: an alarm fires when a day's sweeps
// found violations while the register rule never triggered.
func TestNoCloudTrailEventsAlarm(t *testing.T) {
	for name, s := range map[string]*Synthesized{"single": single(t), "hub": hub(t)} {
		var found bool
		for _, p := range s.Template.Resources("AWS::CloudWatch::Alarm") {
			ms, _ := p["Metrics"].([]any)
			if len(ms) == 0 {
				continue
			}
			found = true
			byID := map[string]string{}
			for _, m := range ms {
				m := m.(map[string]any)
				byID[m["Id"].(string)] = Flatten(m)
			}
			if !strings.Contains(byID["expr_1"], `"Expression":"IF(FILL(swept, 0) \u003e 0 AND FILL(triggered, 0) == 0, 1, 0)"`) ||
				!strings.Contains(byID["swept"], `{"Dimensions":[{"Name":"Mode","Value":"sweep"}],"MetricName":"Detections","Namespace":"ecslogfix"},"Period":86400,"Stat":"Sum"`) ||
				!strings.Contains(byID["triggered"], `{"Dimensions":[{"Name":"RuleName","Value":"ecslogfix-register"}],"MetricName":"TriggeredRules","Namespace":"AWS/Events"},"Period":86400,"Stat":"Sum"`) ||
				p["TreatMissingData"] != "notBreaching" || p["Threshold"] != float64(1) {
				t.Errorf("%s: trail alarm %v", name, byID)
			}
		}
		if !found {
			t.Errorf("%s: no alarm for a missing trail", name)
		}
	}
}

func TestCdkNagGate(t *testing.T) {
	for name, s := range map[string]*Synthesized{"single": single(t), "hub": hub(t)} {
		errs, warns := NagFindings(s.Stack)
		for _, w := range warns {
			t.Logf("%s cdk-nag warning: %s", name, w)
		}
		for _, e := range errs {
			t.Errorf("%s cdk-nag error: %s", name, e)
		}
	}
}

func TestCfnLint(t *testing.T) {
	bin := requireTool(t, "cfn-lint")
	for _, f := range templateFiles(t) {
		if out, err := exec.Command(bin, "--ignore-checks", "W3005", "--", f).CombinedOutput(); err != nil {
			t.Errorf("cfn-lint %s: %v\n%s", filepath.Base(f), err, out)
		}
	}
}

func TestAssetsAreArm64(t *testing.T) {
	s := single(t)
	for _, fn := range naming.Functions() {
		dir, err := s.AssetDir("ecslogfix-" + fn)
		if err != nil {
			t.Fatal(err)
		}
		f, err := elf.Open(filepath.Join(dir, "bootstrap"))
		if err != nil {
			t.Fatalf("%s: %v", fn, err)
		}
		if f.Machine != elf.EM_AARCH64 || f.Class != elf.ELFCLASS64 {
			t.Errorf("%s: bootstrap is %v %v, want AArch64 (declared arm64)", fn, f.Machine, f.Class)
		}
		f.Close()
	}
}

var minimalSynth synthOnce

// Optional resources are absent when not configured.
func TestOptionalResourcesOff(t *testing.T) {
	s := synthContext(t, &minimalSynth, "minimal", map[string]any{
		"ecslogfix:createDefaultExecutionRole": "false",
		"ecslogfix:sweepSchedule":              "off",
		"ecslogfix:prefix":                     "acme",
		"ecslogfix:memoryMB.remediate":         "256",
	})
	tmpl := s.Template
	for _, typ := range []string{"AWS::Chatbot::SlackChannelConfiguration", "AWS::SNS::Subscription"} {
		if n := len(tmpl.Resources(typ)); n != 0 {
			t.Errorf("%d %s", n, typ)
		}
	}
	for _, p := range tmpl.Resources("AWS::Events::Rule") {
		if p["ScheduleExpression"] != nil {
			t.Error("sweep rule present with sweepSchedule=off")
		}
	}
	for _, p := range tmpl.Resources("AWS::IAM::Role") {
		if p["RoleName"] == "acme-task-execution" {
			t.Error("default execution role present with createDefaultExecutionRole=false")
		}
	}
	env, err := tmpl.FunctionEnvironment("acme-notify")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(env[fnenv.EnvPolicy], "defaultExecutionRoleArn") || env[fnenv.EnvSlackWebhookARN] != "" {
		t.Errorf("notify env %v", env)
	}
	id := mustFn(t, tmpl, "acme-remediate")
	if m := tmpl.Resource(id)["Properties"].(map[string]any)["MemorySize"]; m != float64(256) {
		t.Errorf("remediate memory %v", m)
	}
	if def, _ := tmpl.StateMachineDefinition("acme-remediation", "aws"); def != asl.Definition("aws", "acme-remediate", "acme-notify") {
		t.Error("definition does not use the prefix")
	}
	errs, _ := NagFindings(s.Stack)
	for _, e := range errs {
		t.Errorf("cdk-nag error: %s", e)
	}
}
