package stacks

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ecslogfix/ecslogfix/infra/grants"
	"github.com/ecslogfix/ecslogfix/internal/asff"
	"github.com/ecslogfix/ecslogfix/internal/config"
	"github.com/ecslogfix/ecslogfix/internal/config/fnenv"
	"github.com/ecslogfix/ecslogfix/internal/config/naming"
	"github.com/ecslogfix/ecslogfix/internal/detect"
	"github.com/ecslogfix/ecslogfix/internal/evidence"
	"github.com/ecslogfix/ecslogfix/internal/execution"
	"github.com/ecslogfix/ecslogfix/internal/history"
	"github.com/ecslogfix/ecslogfix/internal/hook"
	"github.com/ecslogfix/ecslogfix/internal/notify"
	"github.com/ecslogfix/ecslogfix/internal/remediate"
	"github.com/ecslogfix/ecslogfix/internal/report"
	"github.com/ecslogfix/ecslogfix/internal/sweep"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
	"github.com/ecslogfix/ecslogfix/test/e2e/harness"
)

// The IAM simulation: every AWS call the functions can make, found in the
// code rather than listed by hand, is evaluated against the synthesized
// single, hub and member templates' policies (identity, trust, key, topic,
// bucket and bus policies) by @cloud-copilot/iam-simulate, per role and
// mode, with the decision each must get; and every statement of every
// template is checked against the Service Authorization Reference
// (scripts/iam-simulate.cjs). moto evaluates no IAM.

// --- the calls, from the code ---

// handlers are the functions' handler types: the calls are the methods of
// every AWS SDK consumer interface reachable from them.
var handlers = map[string]reflect.Type{
	naming.FunctionDetect:    reflect.TypeFor[detect.Detector](),
	naming.FunctionRemediate: reflect.TypeFor[remediate.Remediator](),
	naming.FunctionNotify:    reflect.TypeFor[notify.Handler](),
	naming.FunctionSweep:     reflect.TypeFor[sweep.Sweeper](),
	naming.FunctionHook:      reflect.TypeFor[hook.Handler](),
	naming.FunctionReport:    reflect.TypeFor[report.Job](),
}

// implementations are the production types behind the interfaces the
// handlers take that are no SDK client themselves, so that the walk goes
// on into what they call: the adapters build the history writer with
// evidence.Store (its result type), whose Findings publisher is an
// *asff.Publisher (internal/evidence). TestCallsAreDerivedFromTheCode
// checks each implements its interface.
var implementations = map[reflect.Type][]reflect.Type{
	reflect.TypeFor[history.Recorder]():  {reflect.TypeOf(evidence.Store).Out(0)},
	reflect.TypeFor[history.Publisher](): {reflect.TypeFor[*asff.Publisher]()},
}

// sdkCall is one method of an SDK consumer interface: a call the function
// makes, with its own credentials (home) or those of the account-region it
// acts in (target: an interface returned by a func taking a
// workflow.Target, e.g. detect.ECSFor, or an account and a region, e.g.
// asff.Publisher.Import).
type sdkCall struct {
	Service, Operation string // the SDK package (ecs, cloudwatchlogs, …) and method
	Target             bool
	Via                string // the interface, e.g. detect.ECS
}

const module = "github.com/ecslogfix/ecslogfix/"

var targetType = reflect.TypeFor[workflow.Target]()

// callsOf walks t's fields (our own structs), pointers, slices, maps and
// funcs (their results) to every interface and its implementations, and
// returns the methods shaped like the SDK's (ctx, *service.XInput,
// ...func(*service.Options)).
func callsOf(t reflect.Type) []sdkCall {
	var out []sdkCall
	seen := map[string]bool{}
	var walk func(t reflect.Type, target bool)
	walk = func(t reflect.Type, target bool) {
		key := fmt.Sprint(t, target)
		if seen[key] {
			return
		}
		seen[key] = true
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
			walk(t.Elem(), target)
		case reflect.Struct:
			if !strings.HasPrefix(t.PkgPath(), module) {
				return
			}
			for i := range t.NumField() {
				walk(t.Field(i).Type, target)
			}
		case reflect.Func:
			tg := target || t.NumIn() == 2 && t.In(0).Kind() == reflect.String && t.In(1).Kind() == reflect.String
			for i := range t.NumIn() {
				tg = tg || t.In(i) == targetType
			}
			for i := range t.NumOut() {
				walk(t.Out(i), tg)
			}
		case reflect.Interface:
			for i := range t.NumMethod() {
				m := t.Method(i)
				if svc, ok := sdkService(m.Type); ok {
					out = append(out, sdkCall{Service: svc, Operation: m.Name, Target: target, Via: t.String()})
				}
			}
			for _, impl := range implementations[t] {
				walk(impl, target)
			}
		}
	}
	walk(t, false)
	sort.Slice(out, func(i, j int) bool { return fmt.Sprint(out[i]) < fmt.Sprint(out[j]) })
	// One call per interface: the same operation on two interfaces goes to
	// two resources (notify's PutObject of a sweep's outcome and of a
	// history record).
	return slices.Compact(out)
}

func sdkService(m reflect.Type) (string, bool) {
	if m.NumIn() != 3 || !m.IsVariadic() || m.In(1).Kind() != reflect.Pointer {
		return "", false
	}
	return strings.CutPrefix(m.In(1).Elem().PkgPath(), "github.com/aws/aws-sdk-go-v2/service/")
}

// iamPrefix is each SDK package's IAM service prefix.
var iamPrefix = map[string]string{"ecs": "ecs", "cloudwatchlogs": "logs", "sfn": "states", "sns": "sns", "sts": "sts", "s3": "s3",
	"organizations": "organizations", "cloudformation": "cloudformation", "secretsmanager": "secretsmanager", "lambda": "lambda",
	"eventbridge": "events", "scheduler": "scheduler", "dynamodb": "dynamodb", "securityhub": "securityhub"}

// iamActionOf: operations authorized under another action's name (the
// Amazon S3 API Reference, "Permissions", of each operation).
var iamActionOf = map[string]string{"s3:ListObjectsV2": "s3:ListBucket", "s3:CreateMultipartUpload": "s3:PutObject",
	"s3:UploadPart": "s3:PutObject", "s3:CompleteMultipartUpload": "s3:PutObject"}

// dependent are the further authorizations a call needs because of what
// the request carries or where it goes: a revision registered with tags
// and roles (ECS, "Grant permission to tag resources on creation"; "Amazon
// ECS task execution IAM role": iam:PassRole), a log group created with
// tags (CloudWatch Logs, logs:TagResource), objects of the SSE-KMS bucket
// and a message to the KMS-encrypted topic (the key, through the service).
type dependentAuth struct {
	action  string
	context map[string]string
}

func dependent(action string) []dependentAuth {
	switch action {
	case "ecs:RegisterTaskDefinition":
		return []dependentAuth{{"ecs:TagResource", map[string]string{"ecs:CreateAction": "RegisterTaskDefinition"}},
			{"iam:PassRole", map[string]string{"iam:PassedToService": "ecs-tasks.amazonaws.com"}}}
	case "logs:CreateLogGroup":
		return []dependentAuth{{"logs:TagResource", nil}}
	case "s3:PutObject":
		return []dependentAuth{{"kms:GenerateDataKey", map[string]string{"kms:ViaService": "s3.REGION.amazonaws.com"}},
			{"kms:Decrypt", map[string]string{"kms:ViaService": "s3.REGION.amazonaws.com"}}}
	case "s3:GetObject":
		return []dependentAuth{{"kms:Decrypt", map[string]string{"kms:ViaService": "s3.REGION.amazonaws.com"}}}
	case "sns:Publish":
		return []dependentAuth{{"kms:GenerateDataKey", map[string]string{"kms:ViaService": "sns.REGION.amazonaws.com"}},
			{"kms:Decrypt", map[string]string{"kms:ViaService": "sns.REGION.amazonaws.com"}}}
	}
	return nil
}

// madeIn says whether fn makes a call in its world: the sweep reads the
// organization only in organization mode (functions/sweep sets
// Sweeper.Organization there), notify reads the webhook secret only when
// one is configured (functions/notify), and the history writer writes
// what the function's environment in the template configures
// (internal/evidence: the table, findings, notes).
func (w *world) madeIn(t *testing.T, fn string, c sdkCall) bool {
	h := w.historyOf(t, fn)
	switch c.Via {
	case viaOf[history.S3]():
		return h.On()
	case viaOf[history.DynamoDB]():
		return h.Table != ""
	case viaOf[asff.Importer]():
		return h.Findings
	case viaOf[asff.Annotator]():
		return h.Notes
	}
	switch c.Service {
	case "organizations", "cloudformation":
		return w.cfg.Mode == config.ModeOrganization
	case "secretsmanager":
		return w.cfg.SlackWebhookSecretARN != ""
	}
	return true
}

func viaOf[T any]() string { return reflect.TypeFor[T]().String() }

// historyEnvs read a history writer's settings from its environment with
// the function's own reader.
var historyEnvs = map[string]func(getenv func(string) string) (config.HistoryEnv, error){
	naming.FunctionDetect: func(g func(string) string) (config.HistoryEnv, error) {
		e, err := fnenv.ReadDetectEnv(g)
		return e.History, err
	},
	naming.FunctionSweep: func(g func(string) string) (config.HistoryEnv, error) {
		e, err := fnenv.ReadSweepEnv(g)
		return e.History, err
	},
	naming.FunctionNotify: func(g func(string) string) (config.HistoryEnv, error) {
		e, err := fnenv.ReadNotifyEnv(g)
		return e.History, err
	},
}

// historyOf is what fn's environment in the template, resolved in the
// world's account and region, says about the history.
func (w *world) historyOf(t *testing.T, fn string) config.HistoryEnv {
	t.Helper()
	read, ok := historyEnvs[fn]
	if !ok {
		return config.HistoryEnv{}
	}
	env := w.stack.environment(t, w.cfg.Names().Function(fn))
	h, err := read(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("%s's environment: %v", fn, err)
	}
	return h
}

// storeWrites is what the history store writes for one decision about a
// family of account/region, recorded from the store itself: the object,
// the item read and the item written.
type storeWrites struct {
	object *s3.PutObjectInput
	read   *dynamodb.GetItemInput
	item   *dynamodb.PutItemInput
}

func (r *storeWrites) PutObject(_ context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	r.object = in
	return &s3.PutObjectOutput{}, nil
}

func (r *storeWrites) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	r.read = in
	return &dynamodb.GetItemOutput{}, nil
}

func (r *storeWrites) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	r.item = in
	return &dynamodb.PutItemOutput{}, nil
}

func recordOnce(t *testing.T, h config.HistoryEnv, account, region string) *storeWrites {
	t.Helper()
	w := &storeWrites{}
	s := &history.Store{S3: w, Bucket: h.Bucket, Prefix: h.Prefix, DynamoDB: w, Table: h.Table}
	if err := s.Record(context.Background(), history.Record{Schema: history.Schema, ID: "0b1c2d3e4f5a6b7c8d9e",
		Time: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), Decision: history.DecisionCompliant,
		Account: account, Region: region, Family: "orders", Revision: 4}); err != nil {
		t.Fatal(err)
	}
	if w.object == nil || (h.Table != "" && (w.read == nil || w.item == nil)) {
		t.Fatalf("the store wrote %+v", w)
	}
	return w
}

// historyRequest gives the names and request context of a history call:
// the object and the item the store writes for a decision about a family
// of a member account (in the hub's bucket and table, with its own
// credentials), the default product of the account a finding is imported
// into (securityhub:TargetAccount: the finding's AwsAccountId), the hub of
// the record's region for notes. ok is false for other calls.
func (w *world) historyRequest(t *testing.T, fn string, c sdkCall, account string) (names map[string]string, ctx map[string]any, ok bool) {
	h := w.historyOf(t, fn)
	switch c.Via {
	case viaOf[history.S3](), viaOf[history.DynamoDB]():
		rec := recordOnce(t, h, simMemberAccount, simMemberRegion)
		if c.Service == "s3" {
			return map[string]string{"BucketName": *rec.object.Bucket, "ObjectName": *rec.object.Key},
				map[string]any{"s3:ResourceAccount": w.stack.account}, true
		}
		in := rec.read.Key
		ctx := map[string]any{}
		if c.Operation == "PutItem" {
			in = rec.item.Item
			ctx["dynamodb:Attributes"] = slices.Sorted(maps.Keys(rec.item.Item))
		}
		scope, _ := in[history.KeyScope].(*ddbtypes.AttributeValueMemberS)
		if scope == nil {
			t.Fatalf("the store's %s has no %s", c.Operation, history.KeyScope)
		}
		ctx["dynamodb:LeadingKeys"] = []string{scope.Value}
		return map[string]string{"TableName": cmpOr(aws.ToString(rec.read.TableName), h.Table)}, ctx, true
	case viaOf[asff.Importer]():
		return map[string]string{"Company": account, "ProductId": "default"}, map[string]any{"securityhub:TargetAccount": account}, true
	case viaOf[asff.Annotator]():
		return nil, nil, true
	case viaOf[report.S3]():
		names, ctx := w.reportRequest(t, c)
		return names, ctx, true
	}
	return nil, nil, false
}

// The code's calls are found: a new SDK call in any handler's graph shows
// up here (and in the simulation, where it needs a grant).
func TestCallsAreDerivedFromTheCode(t *testing.T) {
	got := map[string][]string{}
	for fn, h := range handlers {
		for _, c := range callsOf(h) {
			where := "home"
			if c.Target {
				where = "target"
			}
			got[fn] = append(got[fn], where+" "+c.Service+":"+c.Operation)
		}
	}
	// The hook answers from the policy alone (functions/hook): no AWS call.
	if len(got[naming.FunctionHook]) != 0 {
		t.Errorf("the hook makes AWS calls %v: give its role their grants and simulate them", got[naming.FunctionHook])
	}
	// The history writer's calls, behind history.Recorder.
	writes := []string{"home s3:PutObject", "home dynamodb:GetItem", "home dynamodb:PutItem", "target securityhub:BatchImportFindings"}
	for fn, want := range map[string][]string{
		naming.FunctionDetect:    append([]string{"home sfn:DescribeExecution", "home sfn:StartExecution", "target ecs:DescribeTaskDefinition"}, writes...),
		naming.FunctionRemediate: {"target cloudwatchlogs:CreateLogGroup", "target cloudwatchlogs:DescribeLogGroups", "target ecs:DescribeTaskDefinition"},
		naming.FunctionNotify: append([]string{"home secretsmanager:GetSecretValue", "home sns:Publish", "home s3:PutObject", "home s3:GetObject", "home s3:ListObjectsV2", "home eventbridge:PutEvents",
			"home securityhub:GetFindings", "home securityhub:BatchUpdateFindings"}, writes...),
		naming.FunctionSweep:  append([]string{"home s3:GetObject", "home sfn:StartExecution", "target ecs:ListTaskDefinitionFamilies"}, writes...),
		naming.FunctionReport: {"home s3:ListObjectsV2", "home s3:GetObject", "home s3:PutObject", "home sns:Publish"},
	} {
		for _, w := range want {
			if !slices.Contains(got[fn], w) {
				t.Errorf("%s: %s not found among %v", fn, w, got[fn])
			}
		}
	}
	for iface, impls := range implementations {
		for _, impl := range impls {
			if !impl.Implements(iface) {
				t.Errorf("%v does not implement %v", impl, iface)
			}
		}
	}
	// The functions that write the history are the ones the stack grants
	// it to, and each has a reader of its history settings.
	var writers []string
	for fn, h := range handlers {
		if slices.ContainsFunc(callsOf(h), func(c sdkCall) bool { return c.Via == viaOf[history.S3]() }) {
			writers = append(writers, fn)
			if historyEnvs[fn] == nil {
				t.Errorf("%s writes the history: read its settings in historyEnvs", fn)
			}
		}
	}
	if slices.Sort(writers); !slices.Equal(writers, slices.Sorted(slices.Values(grants.HistoryWriters))) {
		t.Errorf("the history writers are %v, the stack grants %v", writers, grants.HistoryWriters)
	}
}

// --- the world the simulation runs in ---

const (
	simSingleAccount = "111122223333"
	simHubAccount    = "111111111111"
	simMemberAccount = "222222222222"
	simOutsider      = "444444444444"
	simOrg           = "o-abcdefghij"
	simOtherOrg      = "o-zzzzzzzzzz"
	simHubRegion     = "us-east-1"
	simMemberRegion  = "eu-west-1"
)

// resolved is a template resolved in an account and region.
type resolved struct {
	*harness.Template
	account, region string
}

func resolve(t *testing.T, name string, tmpl Template, account, region string, params map[string]string) resolved {
	t.Helper()
	h := harness.NewTemplate(name, tmpl)
	h.Account, h.Region, h.Parameters = account, region, params
	return resolved{h, account, region}
}

func (r resolved) value(t *testing.T, v any) any {
	t.Helper()
	out, err := r.Resolve(v)
	if err != nil {
		t.Fatalf("resolve %v: %v", v, err)
	}
	return out
}

func (r resolved) str(t *testing.T, v any) string {
	t.Helper()
	s, ok := r.value(t, v).(string)
	if !ok {
		t.Fatalf("%v is not a string", v)
	}
	return s
}

// environment is the resolved environment of the function named name.
func (r resolved) environment(t *testing.T, name string) map[string]string {
	t.Helper()
	for _, f := range r.Resources("AWS::Lambda::Function") {
		if f.Properties["FunctionName"] != name {
			continue
		}
		env, _ := f.Properties["Environment"].(map[string]any)
		vars, _ := env["Variables"].(map[string]any)
		out := map[string]string{}
		for k, v := range vars {
			out[k] = r.str(t, v)
		}
		return out
	}
	t.Fatalf("no function named %s", name)
	return nil
}

// hasFunction says whether the template has a function named name.
func (r resolved) hasFunction(name string) bool {
	return slices.ContainsFunc(r.Resources("AWS::Lambda::Function"), func(f harness.Resource) bool { return f.Properties["FunctionName"] == name })
}

// role is a role's ARN, identity policies and trust policy.
type role struct {
	arn      string
	identity []any
	trust    any
}

// roleByID reads the role with logical ID id.
func (r resolved) roleByID(t *testing.T, id string) role {
	t.Helper()
	res := r.Resources("AWS::IAM::Role")
	for _, x := range res {
		if x.LogicalID != id {
			continue
		}
		out := role{arn: r.str(t, map[string]any{"Fn::GetAtt": []any{id, "Arn"}}), trust: r.value(t, x.Properties["AssumeRolePolicyDocument"])}
		pols, _ := x.Properties["Policies"].([]any)
		for _, p := range pols {
			out.identity = append(out.identity, r.value(t, p.(map[string]any)["PolicyDocument"]))
		}
		for _, p := range r.Resources("AWS::IAM::Policy") {
			for _, ref := range p.Properties["Roles"].([]any) {
				if m, ok := ref.(map[string]any); ok && m["Ref"] == id {
					out.identity = append(out.identity, r.value(t, p.Properties["PolicyDocument"]))
				}
			}
		}
		return out
	}
	t.Fatalf("no role %s", id)
	return role{}
}

func (r resolved) role(t *testing.T, name string) role {
	t.Helper()
	for _, x := range r.Resources("AWS::IAM::Role") {
		if x.Properties["RoleName"] == name {
			return r.roleByID(t, x.LogicalID)
		}
	}
	t.Fatalf("no role named %s", name)
	return role{}
}

// one returns the properties of the only resource of a type.
func (r resolved) one(t *testing.T, typ string) (string, map[string]any) {
	t.Helper()
	res := r.Resources(typ)
	if len(res) != 1 {
		t.Fatalf("%d %s", len(res), typ)
	}
	return res[0].LogicalID, res[0].Properties
}

func policyOf(statement any) any {
	return map[string]any{"Version": "2012-10-17", "Statement": []any{statement}}
}

// --- requests ---

type simRequest struct {
	ID              string            `json:"id"`
	Principal       string            `json:"principal"`
	Action          string            `json:"action"`
	Resource        string            `json:"resource,omitempty"`
	Names           map[string]string `json:"names,omitempty"`
	ResourceAccount string            `json:"resourceAccount"`
	Context         map[string]any    `json:"context"`
	IdentityPolices []any             `json:"identityPolicies"`
	ResourcePolicy  any               `json:"resourcePolicy,omitempty"`

	want string // Allowed, ImplicitlyDenied, ExplicitlyDenied
	row  string // the report's description
}

type simResult struct {
	ID, Decision, Resource string
	Errors                 any
}

type policyCheck struct {
	Where  string `json:"where"`
	Kind   string `json:"kind"` // identity, resource
	Policy any    `json:"policy"`
}

func runSimulator(t *testing.T, reqs []simRequest, policies []policyCheck) (map[string]simResult, map[string][]string) {
	t.Helper()
	tools := toolsDir(t)
	modules := filepath.Join(tools, "node_modules")
	requireTool(t, "@cloud-copilot/iam-simulate", filepath.Join(modules, "@cloud-copilot", "iam-simulate", "package.json"))
	node := requireTool(t, "node")
	lines := runNodeScript(t, node, modules, "iam-simulate", map[string]any{"requests": reqs, "policies": policies})
	results, problems := map[string]simResult{}, map[string][]string{}
	for _, line := range lines {
		var r struct {
			simResult
			Where    string
			Problems []string
		}
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("iam-simulate output %q: %v", line, err)
		}
		if r.Where != "" {
			problems[r.Where] = r.Problems
		} else {
			results[r.ID] = r.simResult
		}
	}
	if len(results) != len(reqs) || len(problems) != len(policies) {
		t.Fatalf("iam-simulate answered %d requests of %d and %d policies of %d", len(results), len(reqs), len(problems), len(policies))
	}
	return results, problems
}

// names are the resource names a request's ARN is built from.
func (w *world) names(account, region string) map[string]string {
	n := map[string]string{"Partition": "aws", "Region": region, "Account": account,
		"TaskDefinitionFamilyName": "orders", "TaskDefinitionRevisionNumber": "4", "LogGroupName": "/ecs/orders",
		"StateMachineName": w.cfg.Names().StateMachine(), "ExecutionId": "orders-4-0123abcd",
		"RoleNameWithPath": "orders-task", // a task definition's role, passed to ECS
		"OrganizationId":   strings.TrimPrefix(simOrg, "o-"), "OrganizationalUnitId": "ab12-abcdefgh",
		"StackSetName": w.cfg.Names().StackSet(), "Id": "6d7e1f2a-0000-4000-8000-000000000001",
		// The rollout's consumers: a service, a rule target, a schedule.
		"ClusterName": "prod", "ServiceName": "orders", "EventBusName": "default", "RuleName": "nightly",
		"GroupName": "default", "ScheduleName": "report",
	}
	for _, m := range []map[string]string{w.base, w.extra} {
		for k, v := range m {
			n[k] = v
		}
	}
	return n
}

// world is one mode's templates, and what the requests need from them.
type world struct {
	mode   string
	cfg    config.Config
	stack  resolved
	member resolved // organization mode: the member IAM template in a member account
	// base names the stack's resources (topic, key, bucket, secret); extra
	// the resources of the requests being added, context their request
	// context (the action's own, not its dependents').
	base, extra map[string]string
	context     map[string]any
	// resource policies by IAM service prefix, bucket policies by bucket
	resourcePolicies map[string]any
	bucketPolicies   map[string]any
	reqs             []simRequest
}

func (w *world) add(r simRequest) {
	r.ID = fmt.Sprintf("%s-%d", w.mode, len(w.reqs))
	if r.Context == nil {
		r.Context = map[string]any{}
	}
	r.Context["aws:SecureTransport"] = "true"
	w.reqs = append(w.reqs, r)
}

func orgContext(principalAccount string) map[string]any {
	ctx := map[string]any{"aws:PrincipalAccount": principalAccount}
	if principalAccount != simOutsider {
		ctx["aws:PrincipalOrgID"] = simOrg
	}
	return ctx
}

// call adds the requests of one action (and its dependents) by principal
// in account/region.
func (w *world) call(t *testing.T, row string, p role, action, account, region string, org bool, want string) {
	t.Helper()
	auths := append([]dependentAuth{{action: action}}, dependent(action)...)
	for _, a := range auths {
		ctx := map[string]any{}
		if org {
			principalAccount := strings.Split(p.arn, ":")[4]
			ctx = orgContext(principalAccount)
			ctx["aws:ResourceOrgID"] = simOrg
		}
		for k, v := range a.context {
			ctx[k] = strings.ReplaceAll(v, "REGION", region)
		}
		if a.action == action {
			maps.Copy(ctx, w.context)
		}
		if _, set := ctx["s3:prefix"]; a.action == "s3:ListBucket" && !set {
			ctx["s3:prefix"] = "sweeps/0b1c2d3e-sweep/results/"
			if strings.Contains(w.extra["ObjectName"], "/outcomes/") {
				ctx["s3:prefix"] = workflow.SweepOutcomesPrefix("0b1c2d3e-sweep")
			}
		}
		prefix := strings.Split(a.action, ":")[0]
		names := w.names(account, region)
		if a.action == "sts:AssumeRole" {
			names["RoleNameWithPath"] = w.cfg.Names().MemberRole()
		}
		if action == "ecs:RegisterTaskDefinition" {
			// Tagged on creation: the revision, not a cluster or service.
			delete(names, "ClusterName")
			delete(names, "ServiceName")
		}
		resourcePolicy := w.resourcePolicies[prefix]
		if prefix == "s3" {
			resourcePolicy = w.bucketPolicies[names["BucketName"]]
		}
		r := simRequest{Principal: p.arn, Action: a.action, Names: names, ResourceAccount: account, Context: ctx,
			IdentityPolices: p.identity, ResourcePolicy: resourcePolicy, want: want, row: row}
		if a.action != action {
			r.row = row + " (needs " + a.action + ")"
		}
		w.add(r)
	}
}

func (w *world) fnRole(t *testing.T, fn string) role {
	return w.stack.role(t, w.cfg.Names().FunctionRole(fn))
}

// functions adds every call of every function, in every account-region it
// acts in: its own, and in organization mode a member account's through
// the member role.
func (w *world) functions(t *testing.T) {
	org := w.cfg.Mode == config.ModeOrganization
	reach := execution.Reach{Organization: org, MemberRoleName: w.cfg.Names().MemberRole(), HomeAccount: w.stack.account, Partition: "aws"}
	fns := naming.Functions()
	if w.stack.hasFunction(w.cfg.Names().Function(naming.FunctionReport)) {
		fns = append(slices.Clone(fns), naming.FunctionReport)
	}
	for _, fn := range fns {
		home := w.fnRole(t, fn)
		w.extra = nil
		if fn == naming.FunctionNotify {
			// notify's objects are a sweep's outcomes (workflow.SweepOutcomeKey).
			w.extra = map[string]string{"ObjectName": workflow.SweepOutcomeKey("0b1c2d3e-sweep", simMemberAccount, simMemberRegion, "orders")}
			if org {
				w.extra["EventBusName"] = w.cfg.Names().EventBus() // the neutral event goes to the hub's bus
			}
		}
		fnExtra := w.extra
		for _, c := range callsOf(handlers[fn]) {
			if !w.madeIn(t, fn, c) {
				continue
			}
			prefix, ok := iamPrefix[c.Service]
			if !ok {
				t.Errorf("%s calls %s.%s: no IAM service prefix known for SDK package %s", fn, c.Via, c.Operation, c.Service)
				continue
			}
			action := cmpOr(iamActionOf[prefix+":"+c.Operation], prefix+":"+c.Operation)
			row := fmt.Sprintf("%s %s.%s", fn, c.Via, c.Operation)
			// The history writer's requests in the account the store writes
			// in, or the finding is imported into.
			request := func(account string) {
				w.extra, w.context = fnExtra, nil
				if names, ctx, ok := w.historyRequest(t, fn, c, account); ok {
					w.extra, w.context = names, ctx
				}
			}
			if !c.Target {
				request(w.stack.account)
				region := w.stack.region
				if c.Via == viaOf[asff.Annotator]() {
					region = simMemberRegion // notes are added in the record's region
				}
				w.call(t, row, home, action, w.stack.account, region, org, "Allowed")
				continue
			}
			accounts := []string{w.stack.account}
			if org {
				accounts = append(accounts, simMemberAccount)
			}
			for _, acct := range accounts {
				request(acct)
				tg := reach.Target(acct, simMemberRegion)
				if tg.RoleARN == "" {
					w.call(t, row+" in its own account", home, action, acct, simMemberRegion, org, "Allowed")
					continue
				}
				// The factory assumes the member role, then calls with it.
				trust := w.resourcePolicies["sts"]
				w.resourcePolicies["sts"] = w.member.role(t, w.cfg.Names().MemberRole()).trust
				w.call(t, row+" in a member account: assume the member role", home, "sts:AssumeRole", acct, simMemberRegion, true, "Allowed")
				w.resourcePolicies["sts"] = trust
				member := w.member.role(t, w.cfg.Names().MemberRole())
				member.arn = tg.RoleARN
				w.call(t, row+" in a member account, as the member role", member, action, acct, simMemberRegion, true, "Allowed")
			}
		}
	}
	w.extra, w.context = nil, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// stateMachines adds what each state machine's definition does with its
// role: invoke the functions its Tasks name; for a Distributed Map, start
// and stop its own child executions, read the ItemReader's object and
// write the ResultWriter's.
func (w *world) stateMachines(t *testing.T) {
	for _, sm := range w.stack.Resources("AWS::StepFunctions::StateMachine") {
		roleID := strings.TrimSuffix(strings.TrimPrefix(Flatten(sm.Properties["RoleArn"]), "${"), ".Arn}")
		r := w.stack.roleByID(t, roleID)
		name := w.stack.str(t, sm.Properties["StateMachineName"])
		def := w.stack.str(t, sm.Properties["DefinitionString"])
		var states func(m map[string]any)
		states = func(m map[string]any) {
			for sname, sv := range m {
				s := sv.(map[string]any)
				if params, ok := s["Parameters"].(map[string]any); ok && s["Type"] == "Task" {
					fn, _ := params["FunctionName"].(string)
					w.extra = map[string]string{"FunctionName": fn}
					w.call(t, fmt.Sprintf("state machine %s: %s invokes %s", name, sname, fn), r, "lambda:InvokeFunction", w.stack.account, w.stack.region, false, "Allowed")
				}
				ip, ok := s["ItemProcessor"].(map[string]any)
				if !ok {
					continue
				}
				states(ip["States"].(map[string]any))
				if ip["ProcessorConfig"].(map[string]any)["Mode"] == "DISTRIBUTED" {
					w.extra = map[string]string{"StateMachineName": name}
					w.call(t, fmt.Sprintf("state machine %s: %s starts its child executions", name, sname), r, "states:StartExecution", w.stack.account, w.stack.region, false, "Allowed")
					w.extra = map[string]string{"StateMachineName": name + "/" + "0b1c2d3e", "ExecutionId": "9f8e7d6c"}
					for _, a := range []string{"states:DescribeExecution", "states:StopExecution"} {
						w.call(t, fmt.Sprintf("state machine %s: %s watches its child executions", name, sname), r, a, w.stack.account, w.stack.region, false, "Allowed")
					}
				}
				reader := s["ItemReader"].(map[string]any)["Parameters"].(map[string]any)
				w.extra = map[string]string{"BucketName": reader["Bucket"].(string), "ObjectName": "sweeps/0b1c2d3e-sweep/targets.jsonl"}
				w.call(t, fmt.Sprintf("state machine %s: %s reads its items", name, sname), r, "s3:GetObject", w.stack.account, w.stack.region, false, "Allowed")
				writer := s["ResultWriter"].(map[string]any)["Parameters"].(map[string]any)
				w.extra = map[string]string{"BucketName": writer["Bucket"].(string), "ObjectName": writer["Prefix"].(string) + "/4d3c2b1a/manifest.json"}
				w.call(t, fmt.Sprintf("state machine %s: %s writes its results", name, sname), r, "s3:PutObject", w.stack.account, w.stack.region, false, "Allowed")
			}
		}
		var doc struct{ States map[string]any }
		if err := json.Unmarshal([]byte(def), &doc); err != nil {
			t.Fatal(err)
		}
		states(doc.States)
		w.extra = nil
	}
	// Rules that start a state machine do so with their role.
	for _, rule := range w.stack.Resources("AWS::Events::Rule") {
		for _, tg := range rule.Properties["Targets"].([]any) {
			tg := tg.(map[string]any)
			arn := w.stack.str(t, tg["Arn"])
			if !strings.Contains(arn, ":stateMachine:") {
				continue
			}
			id := strings.TrimSuffix(strings.TrimPrefix(Flatten(tg["RoleArn"]), "${"), ".Arn}")
			w.extra = map[string]string{"StateMachineName": arn[strings.LastIndex(arn, ":")+1:]}
			w.call(t, "rule "+w.stack.str(t, rule.Properties["Name"])+" starts "+w.extra["StateMachineName"], w.stack.roleByID(t, id), "states:StartExecution", w.stack.account, w.stack.region, false, "Allowed")
			w.extra = nil
		}
	}
}

// newWorld resolves a mode's templates and reads its resources' names and
// resource policies.
func newWorld(t *testing.T, mode string, s *Synthesized, cfg config.Config) *world {
	t.Helper()
	w := &world{mode: mode, cfg: cfg, resourcePolicies: map[string]any{}, bucketPolicies: map[string]any{}}
	if cfg.Mode == config.ModeOrganization {
		w.stack = resolve(t, "ecslogfix-hub", s.Template, simHubAccount, simHubRegion, nil)
		_, tmpl := memberTemplateIn(t, s, cfg.Names().StackSetIAM())
		w.member = resolve(t, "StackSet-ecslogfix-member-iam", tmpl, simMemberAccount, simMemberRegion,
			map[string]string{ParamHubAccountID: simHubAccount, ParamHubRegion: simHubRegion})
	} else {
		w.stack = resolve(t, "ecslogfix", s.Template, simSingleAccount, simMemberRegion, nil)
	}
	topicID, _ := w.stack.one(t, "AWS::SNS::Topic")
	keyID, key := w.stack.one(t, "AWS::KMS::Key")
	_, topicPolicy := w.stack.one(t, "AWS::SNS::TopicPolicy")
	for _, p := range w.stack.Resources("AWS::S3::BucketPolicy") {
		w.bucketPolicies[w.stack.str(t, p.Properties["Bucket"])] = w.stack.value(t, p.Properties["PolicyDocument"])
	}
	// The sweep's bucket is the one the sweep's environment names (the
	// history's, when there is one, is named by the history calls).
	sweepBucket := w.stack.environment(t, cfg.Names().Function(naming.FunctionSweep))[fnenv.EnvSweepBucket]
	if _, ok := w.bucketPolicies[sweepBucket]; !ok {
		t.Fatalf("no bucket policy of the sweep's bucket %s", sweepBucket)
	}
	topicARN := w.stack.str(t, map[string]any{"Ref": topicID})
	w.base = map[string]string{"TopicName": topicARN[strings.LastIndex(topicARN, ":")+1:], "KeyId": w.stack.PhysicalName(keyID),
		"BucketName": sweepBucket, "ObjectName": "sweeps/0b1c2d3e-sweep/results/" + simMemberAccount + "/eu-west-1/00000.json"}
	if cfg.SlackWebhookSecretARN != "" {
		w.base["SecretId"] = cfg.SlackWebhookSecretARN[strings.LastIndex(cfg.SlackWebhookSecretARN, ":")+1:]
	}
	w.resourcePolicies["sns"] = w.stack.value(t, topicPolicy["PolicyDocument"])
	w.resourcePolicies["kms"] = w.stack.value(t, key["KeyPolicy"])
	if cfg.Mode == config.ModeOrganization {
		_, bus := w.stack.one(t, "AWS::Events::EventBusPolicy")
		w.resourcePolicies["events"] = policyOf(w.stack.value(t, bus["Statement"]))
	}
	return w
}

// TestIAMSimulation simulates, per mode and role, every call the code
// makes (Allowed), and the requests that must be denied; the table is
// logged. Every statement of every template passes the static checks.
func TestIAMSimulation(t *testing.T) {
	// The evidence worlds: the history, Object Lock and findings with
	// notes in a single account; the history and findings imported through
	// the member role in an organization.
	worlds := []*world{newWorld(t, "single", single(t), singleConfig(t)), newWorld(t, "hub", hub(t), orgConfig(t)),
		newWorld(t, "evidence", evidenceSingle(t), evidenceConfig(t)), newWorld(t, "evidencehub", evidenceHub(t), evidenceHubConfig(t))}
	for _, w := range worlds {
		w.functions(t)
		w.stateMachines(t)
	}
	// The evidence worlds have the report function (the history's
	// default reportSchedule): its calls are simulated too.
	for _, w := range worlds[2:] {
		if !slices.ContainsFunc(w.reqs, func(r simRequest) bool { return strings.HasPrefix(r.row, naming.FunctionReport+" ") }) {
			t.Errorf("%s: no call of the report function simulated", w.mode)
		}
	}
	hw := worlds[1]
	remediateHub := hw.fnRole(t, naming.FunctionRemediate)
	member := hw.member.role(t, hw.cfg.Names().MemberRole())
	member.arn = "arn:aws:iam::" + simMemberAccount + ":role/" + hw.cfg.Names().MemberRole()
	memberTrust := member.trust
	// Denied where it must be.
	for _, p := range []struct {
		name string
		r    role
		acct string
	}{{"hub remediate", remediateHub, simHubAccount}, {"the member role", member, simMemberAccount}, {"single remediate", worlds[0].fnRole(t, naming.FunctionRemediate), simSingleAccount}} {
		w := hw
		if p.acct == simSingleAccount {
			w = worlds[0]
		}
		w.add(simRequest{Principal: p.r.arn, Action: "iam:PassRole", Names: w.names(p.acct, simMemberRegion), ResourceAccount: p.acct,
			Context: map[string]any{"iam:PassedToService": "lambda.amazonaws.com"}, IdentityPolices: p.r.identity, want: "ImplicitlyDenied",
			row: p.name + ": iam:PassRole of a task role to another service (Lambda)"})
	}
	// The hub's remediate role acts in a member account only through the
	// member role: with its own credentials it is refused there.
	hw.add(simRequest{Principal: remediateHub.arn, Action: "ecs:RegisterTaskDefinition", Names: hw.names(simMemberAccount, simMemberRegion), ResourceAccount: simMemberAccount,
		Context: orgContext(simHubAccount), IdentityPolices: remediateHub.identity, want: "ImplicitlyDenied",
		row: "hub remediate: ecs:RegisterTaskDefinition in a member account with its own credentials"})
	for _, fn := range []string{naming.FunctionDetect, naming.FunctionSweep, naming.FunctionRemediate} {
		r := hw.fnRole(t, fn)
		// A member role in an account outside the organization (an event
		// relayed for a non-member account): refused by aws:ResourceOrgID.
		ctx := orgContext(simHubAccount)
		ctx["aws:ResourceOrgID"] = simOtherOrg
		rn := hw.names(simOutsider, simMemberRegion)
		rn["RoleNameWithPath"] = hw.cfg.Names().MemberRole()
		hw.add(simRequest{Principal: r.arn, Action: "sts:AssumeRole", Names: rn, ResourceAccount: simOutsider, Context: ctx,
			IdentityPolices: r.identity, ResourcePolicy: memberTrust, want: "ImplicitlyDenied",
			row: "hub " + fn + ": sts:AssumeRole of the member role in an account outside the organization"})
		// The hub's role once its account is outside the organization: the
		// member role's trust refuses it.
		ctx = map[string]any{"aws:PrincipalAccount": simHubAccount, "aws:PrincipalOrgID": simOtherOrg, "aws:ResourceOrgID": simOrg}
		rn = hw.names(simMemberAccount, simMemberRegion)
		rn["RoleNameWithPath"] = hw.cfg.Names().MemberRole()
		hw.add(simRequest{Principal: r.arn, Action: "sts:AssumeRole", Names: rn, ResourceAccount: simMemberAccount, Context: ctx,
			IdentityPolices: r.identity, ResourcePolicy: memberTrust, want: "ImplicitlyDenied",
			row: "hub " + fn + " from outside the organization: sts:AssumeRole of the member role"})
	}
	// The member accounts' rules put events on the hub bus with the
	// forwarder role; nobody outside the organization may.
	forwarder := hw.member.role(t, hw.cfg.Names().MemberForwarderRole())
	hw.extra = map[string]string{"EventBusName": hw.cfg.Names().EventBus()}
	hw.add(simRequest{Principal: forwarder.arn, Action: "events:PutEvents", Names: hw.names(simHubAccount, simHubRegion), ResourceAccount: simHubAccount,
		Context: orgContext(simMemberAccount), IdentityPolices: forwarder.identity, ResourcePolicy: hw.resourcePolicies["events"], want: "Allowed",
		row: "member forwarder: events:PutEvents on the hub bus"})
	outsider := forwarder
	outsider.arn = "arn:aws:iam::" + simOutsider + ":role/" + hw.cfg.Names().MemberForwarderRole()
	hw.add(simRequest{Principal: outsider.arn, Action: "events:PutEvents", Names: hw.names(simHubAccount, simHubRegion), ResourceAccount: simHubAccount,
		Context: orgContext(simOutsider), IdentityPolices: outsider.identity, ResourcePolicy: hw.resourcePolicies["events"], want: "ImplicitlyDenied",
		row: "an account outside the organization: events:PutEvents on the hub bus"})
	hw.extra = nil

	// Every statement of every template, against the reference.
	var policies []policyCheck
	for _, w := range worlds {
		policies = append(policies, w.policies(t, w.stack)...)
	}
	for w, s := range map[*world]*Synthesized{hw: hub(t), worlds[3]: evidenceHub(t)} {
		for name := range stackSetsOf(t, s) {
			_, tmpl := memberTemplateIn(t, s, name)
			policies = append(policies, w.policies(t, resolve(t, name, tmpl, simMemberAccount, simMemberRegion,
				map[string]string{ParamHubAccountID: simHubAccount, ParamHubRegion: simHubRegion}))...)
		}
	}

	var all []simRequest
	for _, w := range worlds {
		all = append(all, w.reqs...)
	}
	results, problems := runSimulator(t, all, policies)
	var table strings.Builder
	fmt.Fprintf(&table, "| mode | call (role, where) | action | resource | expected | decision |\n|---|---|---|---|---|---|\n")
	for _, r := range all {
		got := results[r.ID]
		mode := strings.SplitN(r.ID, "-", 2)[0]
		fmt.Fprintf(&table, "| %s | %s | %s | %s | %s | %s |\n", mode, r.row, r.Action, got.Resource, r.want, got.Decision)
		if got.Decision != r.want {
			t.Errorf("%s: %s %s on %s: %s, want %s %v", mode, r.row, r.Action, got.Resource, got.Decision, r.want, got.Errors)
		}
	}
	t.Logf("IAM simulation, %d requests:\n%s", len(all), table.String())
	for where, ps := range problems {
		for _, p := range ps {
			t.Errorf("%s: %s", where, p)
		}
	}
	t.Logf("%d policies checked against the Service Authorization Reference", len(policies))
}

// policies lists every policy document of a template for the static
// checks: roles' trust, inline and attached policies, key, topic, queue,
// bucket and bus policies.
func (w *world) policies(t *testing.T, r resolved) []policyCheck {
	var out []policyCheck
	add := func(where, kind string, doc any) {
		out = append(out, policyCheck{Where: w.mode + " " + r.StackName + " " + where, Kind: kind, Policy: doc})
	}
	for _, x := range r.Resources("AWS::IAM::Role") {
		add(x.LogicalID+" trust", "resource", r.value(t, x.Properties["AssumeRolePolicyDocument"]))
		pols, _ := x.Properties["Policies"].([]any)
		for i, p := range pols {
			add(fmt.Sprintf("%s inline %d", x.LogicalID, i), "identity", r.value(t, p.(map[string]any)["PolicyDocument"]))
		}
	}
	for _, x := range r.Resources("AWS::IAM::Policy") {
		add(x.LogicalID, "identity", r.value(t, x.Properties["PolicyDocument"]))
	}
	for typ, field := range map[string]string{"AWS::SNS::TopicPolicy": "PolicyDocument", "AWS::SQS::QueuePolicy": "PolicyDocument",
		"AWS::S3::BucketPolicy": "PolicyDocument", "AWS::KMS::Key": "KeyPolicy"} {
		for _, x := range r.Resources(typ) {
			add(x.LogicalID, "resource", r.value(t, x.Properties[field]))
		}
	}
	for _, x := range r.Resources("AWS::Events::EventBusPolicy") {
		add(x.LogicalID, "resource", policyOf(r.value(t, x.Properties["Statement"])))
	}
	return out
}
