package plan

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/policy/awslogs"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/test/goldenfile"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// describeOutput is the shape of `aws ecs describe-task-definition --include TAGS`.
type describeOutput struct {
	TaskDefinition *types.TaskDefinition `json:"taskDefinition"`
	Tags           []types.Tag           `json:"tags"`
}

func decodeDescribe(t testing.TB, data []byte) (*types.TaskDefinition, []types.Tag) {
	t.Helper()
	var d describeOutput
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return d.TaskDefinition, d.Tags
}

func loadFixture(t testing.TB, name string) (*types.TaskDefinition, []types.Tag) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "taskdefs", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return decodeDescribe(t, data)
}

// checkInvariants asserts what must hold for every plan: the input is not
// modified, untouched containers are identical, changed containers differ
// only in logConfiguration, the fixed definition is compliant except where
// the plan reports, and no secret value leaks into the JSON or the diff.
func checkInvariants(t testing.TB, td *types.TaskDefinition, tags []types.Tag, pristine *types.TaskDefinition, pristineTags []types.Tag, p policy.Policy, pl Plan) {
	t.Helper()
	if !reflect.DeepEqual(td, pristine) || !reflect.DeepEqual(tags, pristineTags) {
		t.Fatal("Build modified its input")
	}
	if len(pl.Containers) != len(td.ContainerDefinitions) {
		t.Fatalf("plan has %d containers, task definition %d", len(pl.Containers), len(td.ContainerDefinitions))
	}
	if pl.Compliant && pl.Changed != nil {
		t.Fatal("compliant plan with a changed task definition")
	}
	if pl.Exempt && pl.Changed != nil {
		t.Fatal("exempt plan with a changed task definition")
	}
	if pl.NeedsChange() == (pl.Changed == nil || pl.Blocked()) {
		t.Fatal("NeedsChange disagrees with Changed/Blocked")
	}
	if pl.Changed == nil {
		for _, c := range pl.Containers {
			if c.Action != ActionNone && c.Action != ActionReport {
				t.Fatalf("container %s: action %s without a changed task definition", c.Name, c.Action)
			}
		}
		if !pl.Compliant && !pl.Exempt {
			for _, c := range pl.Containers {
				if c.Action == ActionReport {
					return
				}
			}
			if !pl.Blocked() && pl.Remedy() != RemedyCreateGroups {
				t.Fatal("non-compliant plan with nothing to do, nothing to report and no blocker")
			}
		}
		return
	}
	ch := pl.Changed
	if ch == td || len(ch.ContainerDefinitions) != len(td.ContainerDefinitions) {
		t.Fatal("Changed is not a separate copy")
	}
	top := *ch
	top.ContainerDefinitions = td.ContainerDefinitions
	if pl.ExecutionRoleARN != "" {
		if aws.ToString(ch.ExecutionRoleArn) != pl.ExecutionRoleARN {
			t.Fatal("ExecutionRoleARN not applied")
		}
		top.ExecutionRoleArn = td.ExecutionRoleArn
	}
	if !reflect.DeepEqual(&top, td) {
		t.Fatal("Changed differs from the source outside containers and executionRoleArn")
	}
	for i, c := range pl.Containers {
		src, dst := td.ContainerDefinitions[i], ch.ContainerDefinitions[i]
		switch c.Action {
		case ActionNone, ActionReport:
			if !reflect.DeepEqual(src, dst) {
				t.Fatalf("container %s (%s) changed", c.Name, c.Action)
			}
			if c.After != nil {
				t.Fatalf("container %s (%s) has After", c.Name, c.Action)
			}
		default:
			if src.LogConfiguration != nil && dst.LogConfiguration == src.LogConfiguration {
				t.Fatalf("container %s: logConfiguration shared with the source", c.Name)
			}
			s2 := src
			s2.LogConfiguration = dst.LogConfiguration
			if !reflect.DeepEqual(s2, dst) {
				t.Fatalf("container %s: fields other than logConfiguration changed", c.Name)
			}
			if dst.LogConfiguration.LogDriver != types.LogDriverAwslogs {
				t.Fatalf("container %s: fixed driver %s", c.Name, dst.LogConfiguration.LogDriver)
			}
			if !reflect.DeepEqual(Redact(dst.LogConfiguration), c.After) {
				t.Fatalf("container %s: After does not describe the change", c.Name)
			}
			for k, v := range optionsOf(src.LogConfiguration) {
				// Only a missing or invalid value is replaced: a group the
				// template gives, a region, a stream prefix.
				invalid := k == awslogs.OptGroup || (k == awslogs.OptRegion && !awsarn.ValidRegion(v)) || (k == awslogs.OptStreamPrefix && !awslogs.ValidStreamPrefix(v))
				if src.LogConfiguration.LogDriver == types.LogDriverAwslogs && !awslogs.Blank(v) && !invalid && dst.LogConfiguration.Options[k] != v {
					t.Fatalf("container %s: option %s changed", c.Name, k)
				}
			}
			if src.LogConfiguration != nil && src.LogConfiguration.LogDriver != types.LogDriverAwslogs && dst.LogConfiguration.SecretOptions != nil {
				t.Fatalf("container %s: old driver's secretOptions kept", c.Name)
			}
			for k := range dst.LogConfiguration.Options {
				if _, documented := documentedKeys[k]; !documented {
					if _, had := optionsOf(src.LogConfiguration)[k]; !had {
						t.Fatalf("container %s: wrote undocumented option %s", c.Name, k)
					}
				}
			}
		}
	}
	if !pl.Blocked() {
		ev := p.Evaluate(ch, tags)
		for i, f := range ev.Containers {
			if !f.Compliant && pl.Containers[i].Action != ActionReport {
				t.Fatalf("container %s still not compliant after the fix: %v", f.Name, f.Reasons)
			}
		}
	}
	// Nothing secret in what is printed: other drivers' option values are
	// redacted, secret options are names only, known secrets never appear.
	for _, c := range pl.Containers {
		for _, ls := range []*LogSettings{c.Before, c.After} {
			if ls == nil || ls.Driver == awslogs.DriverAwslogs {
				continue
			}
			for k, v := range ls.Options {
				if k != awslogs.OptMode && k != awslogs.OptMaxBufferSize && v != Redacted {
					t.Fatalf("container %s: %s option %s not redacted", c.Name, ls.Driver, k)
				}
			}
		}
	}
	js, _ := json.Marshal(pl)
	out := string(js) + pl.Diff()
	public := publicStrings(td)
	for _, c := range td.ContainerDefinitions {
		if lc := c.LogConfiguration; lc != nil {
			for _, s := range lc.SecretOptions {
				v := aws.ToString(s.ValueFrom)
				// An empty or short value, or one the source also shows
				// as a name, family or printable option value, cannot be
				// told from those in the output (fuzzing found "").
				if len(v) < 8 || public[v] {
					continue
				}
				if strings.Contains(out, v) {
					t.Fatalf("secret option valueFrom %q leaked", v)
				}
			}
		}
	}
}

// publicStrings are the strings of td a plan may print: the family,
// container names, log drivers, option keys, secret option names and the
// values of the options whose values are printed.
func publicStrings(td *types.TaskDefinition) map[string]bool {
	m := map[string]bool{aws.ToString(td.Family): true}
	for _, c := range td.ContainerDefinitions {
		m[aws.ToString(c.Name)] = true
		lc := c.LogConfiguration
		if lc == nil {
			continue
		}
		m[string(lc.LogDriver)] = true
		for k, v := range lc.Options {
			m[k] = true
			if _, ok := documentedKeys[k]; ok {
				m[v] = true
			}
		}
		for _, s := range lc.SecretOptions {
			m[aws.ToString(s.Name)] = true
		}
	}
	return m
}

// knownSecrets are values in the fixtures that must never be printed.
var knownSecrets = []string{"hunter2", "pa55", "not-a-real-key-but-secret", "hec-token", "splunkcloud", "secretsmanager", "dockerhub", "kinesis_firehose", "cloudwatch_logs", "/app/search-indexer", "udp://"}

var documentedKeys = map[string]struct{}{
	"awslogs-group": {}, "awslogs-region": {}, "awslogs-stream-prefix": {}, "awslogs-create-group": {},
	"awslogs-datetime-format": {}, "awslogs-multiline-pattern": {}, "mode": {}, "max-buffer-size": {},
}

func mustBuild(t testing.TB, td *types.TaskDefinition, tags []types.Tag, p policy.Policy, c Context) Plan {
	t.Helper()
	pristine := taskdef.Copy(td)
	pristineTags := *taskdef.Copy(&tags)
	pl, err := Build(td, tags, p, c)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	checkInvariants(t, td, tags, pristine, pristineTags, p, pl)
	js, _ := json.Marshal(pl)
	out := string(js) + pl.Diff()
	for _, secret := range knownSecrets {
		if strings.Contains(out, secret) {
			t.Fatalf("%q leaked into the plan", secret)
		}
	}
	return pl
}

func mustPolicy(t testing.TB, s string) policy.Policy {
	t.Helper()
	p, err := policy.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type goldenCase struct {
	name    string // golden file stem
	fixture string
	policy  string // JSON/YAML; "" = default
	ctx     Context
}

var goldenCases = []goldenCase{
	{name: "td01", fixture: "td01-fargate-no-logconfig"},
	{name: "td01-central", fixture: "td01-fargate-no-logconfig", policy: `{"logRegion":"eu-west-1","logGroupTemplate":"/ecs/{account}/{region}/{family}/{container}","kmsKeyArn":"arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab","logGroupClass":"INFREQUENT_ACCESS","mode":"non-blocking","maxBufferSize":"25m","retentionDays":90,"logGroupTags":{"team":"platform","cost-center":"42"}}`},
	{name: "td02", fixture: "td02-one-of-three-missing"},
	{name: "td03", fixture: "td03-splunk"},
	{name: "td03-report", fixture: "td03-splunk", policy: `otherDrivers: report`},
	{name: "td07", fixture: "td07-firelens"},
	{name: "td08", fixture: "td08-awslogs-missing-prefix-ec2"},
	{name: "td11", fixture: "td11-compliant-fargate"},
	{name: "td12", fixture: "td12-fargate-no-execution-role"},
	{name: "td12-default-role", fixture: "td12-fargate-no-execution-role", policy: `{"defaultExecutionRoleArn":"arn:aws:iam::111122223333:role/ecslogfix-default-execution"}`},
	{name: "td13", fixture: "td13-ec2-bridge-kitchen-sink"},
	{name: "td23", fixture: "td23-cfn-tags-aws-prefix"},
	{name: "x01-windows", fixture: "x01-windows-fargate"},
	{name: "x02-external", fixture: "x02-external-no-role"},
	{name: "x02-external-default-role", fixture: "x02-external-no-role", policy: `{"defaultExecutionRoleArn":"arn:aws:iam::111122223333:role/ecs-anywhere-exec"}`},
	{name: "x03-appmesh", fixture: "x03-appmesh-proxy"},
	{name: "x04-firelens-router", fixture: "x04-firelens-router-no-awslogs"},
	{name: "x05-ten", fixture: "x05-ten-containers"},
	{name: "x05-ten-per-container", fixture: "x05-ten-containers", policy: `{"logGroupTemplate":"/ecs/{family}/{container}"}`},
	{name: "x06-family-255", fixture: "x06-family-255"},
	{name: "x06-family-255-per-container", fixture: "x06-family-255", policy: `{"logGroupTemplate":"/ecs/{family}/{container}"}`},
	{name: "x07-blank", fixture: "x07-blank-options", policy: `{"mode":"non-blocking","maxBufferSize":"25m"}`},
	{name: "x08-invalid-group", fixture: "x08-invalid-group"},
	{name: "x09-splunk-secrets", fixture: "x09-splunk-secrets-env"},
	{name: "x10-exempt", fixture: "x10-exempt"},
	{name: "x11-fargate-compatible", fixture: "x11-ec2-fargate-compatible-no-role"},
	{name: "x12-region-from-arn", fixture: "x12-awslogs-central-region-other"},
}

func TestGolden(t *testing.T) {
	for _, gc := range goldenCases {
		t.Run(gc.name, func(t *testing.T) {
			td, tags := loadFixture(t, gc.fixture)
			p := policy.Default()
			if gc.policy != "" {
				p = mustPolicy(t, gc.policy)
			}
			pl := mustBuild(t, td, tags, p, gc.ctx)
			js, err := json.MarshalIndent(pl, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			goldenfile.Check(t, filepath.Join("testdata", "golden", gc.name+".plan.json"), append(js, '\n'), *update)
			goldenfile.Check(t, filepath.Join("testdata", "golden", gc.name+".diff"), []byte(pl.Diff()), *update)
		})
	}
}

func optionsOf(lc *types.LogConfiguration) map[string]string {
	if lc == nil {
		return nil
	}
	return lc.Options
}
