package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecslogfix/ecslogfix/internal/cli/command"
	"github.com/ecslogfix/ecslogfix/internal/cli/scan"
	"github.com/ecslogfix/ecslogfix/internal/plan"
	"github.com/ecslogfix/ecslogfix/internal/policy"
	"github.com/ecslogfix/ecslogfix/internal/taskdef"
	"github.com/ecslogfix/ecslogfix/test/faultproxy"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

// motoNow is the clock of the CLI in the moto tests: the day a backout
// exempts the source until follows from it.
func motoNow() time.Time { return time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC) }

func TestMain(m *testing.M) {
	localaws.Main(m, func() {
		if standIns != nil {
			standIns.Close()
		}
	})
}

// motoEnv points the AWS SDK of the program under test at moto, once,
// through the fault proxy's stand-ins (no faults): CloudWatch Logs
// deletion protection and ECS's defaultLogDriverMode as AWS has them
// (test/faultproxy standin.go).
var (
	motoEnv  sync.Once
	envOnce  sync.Once
	standIns *faultproxy.Server
)

// needMoto resets the moto server the first test that needs it starts
// (fuzz workers and offline tests never do) and returns clients on it, or
// skips (fails when ECSLOGFIX_REQUIRE_TOOLS=1).
func needMoto(t *testing.T) (*ecs.Client, *cloudwatchlogs.Client) {
	t.Helper()
	moto := localaws.Shared(t).Endpoint
	motoEnv.Do(func() {
		var err error
		if standIns, err = faultproxy.Start(faultproxy.Config{Upstream: moto, StandIns: true}); err != nil {
			t.Fatalf("start the fault proxy's stand-ins: %v", err)
		}
	})
	if standIns == nil {
		t.Fatal("the fault proxy's stand-ins did not start")
	}
	url := standIns.URL
	envOnce.Do(func() {
		for k, v := range map[string]string{
			"AWS_ENDPOINT_URL":            url,
			"AWS_ACCESS_KEY_ID":           "test",
			"AWS_SECRET_ACCESS_KEY":       "test",
			"AWS_REGION":                  "us-east-1",
			"AWS_EC2_METADATA_DISABLED":   "true",
			"AWS_CONFIG_FILE":             os.DevNull,
			"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		} {
			os.Setenv(k, v)
		}
	})
	resp, err := http.Post(url+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cfg, err := command.LoadAWS(context.Background(), "", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	return ecs.NewFromConfig(cfg), cloudwatchlogs.NewFromConfig(cfg)
}

// runAWS runs the program in-process against moto.
func runAWS(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	a := &App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: os.Getenv, LoadAWS: command.LoadAWS, Now: motoNow,
		IsTerminal: func(io.Writer) bool { return false }}
	code := a.Run(context.Background(), args)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// Kinds of seeded families.
const (
	kindCompliant  = "ok"
	kindAdd        = "nolog"
	kindComplete   = "noprefix"
	kindReplace    = "splunk"
	kindExempt     = "exempt"
	kindFirelens   = "firelens"
	kindBlocked    = "fargate-norole"
	kindHistorical = "fixedlater" // old revision non-compliant, latest compliant
	kindNoGroup    = "nogroup"    // compliant on paper, its log group missing
)

var kinds = []string{kindCompliant, kindAdd, kindComplete, kindReplace, kindExempt, kindFirelens, kindBlocked, kindHistorical, kindNoGroup}

func str(s string) *string { return aws.String(s) }

func tag(k, v string) types.Tag { return types.Tag{Key: str(k), Value: str(v)} }

func awslogs(family string, prefix bool) *types.LogConfiguration {
	o := map[string]string{"awslogs-group": "/ecs/" + family, "awslogs-region": "us-east-1"}
	if prefix {
		o["awslogs-stream-prefix"] = "ecs"
	}
	return &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: o}
}

// seedInput is the RegisterTaskDefinition input of family of kind.
func seedInput(kind, family string) *ecs.RegisterTaskDefinitionInput {
	app := types.ContainerDefinition{
		Name: str("app"), Image: str("public.ecr.aws/nginx/nginx:1.27"), Memory: aws.Int32(256), Essential: aws.Bool(true),
		Environment:  []types.KeyValuePair{{Name: str("MODE"), Value: str("prod")}},
		PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080), Protocol: types.TransportProtocolTcp}},
	}
	in := &ecs.RegisterTaskDefinitionInput{
		Family:      str(family),
		NetworkMode: types.NetworkModeBridge,
		TaskRoleArn: str("arn:aws:iam::123456789012:role/" + family + "-task"),
		Tags:        []types.Tag{tag("team", "payments"), tag("cost-center", "cc-"+family)},
		Volumes:     []types.Volume{{Name: str("scratch"), Host: &types.HostVolumeProperties{SourcePath: str("/tmp")}}},
	}
	switch kind {
	case kindCompliant, kindHistorical, kindNoGroup:
		app.LogConfiguration = awslogs(family, true)
	case kindAdd:
	case kindComplete:
		app.LogConfiguration = awslogs(family, false)
		app.LogConfiguration.Options["awslogs-datetime-format"] = "%Y-%m-%d %H:%M:%S"
	case kindReplace:
		app.LogConfiguration = &types.LogConfiguration{LogDriver: types.LogDriverSplunk,
			Options:       map[string]string{"splunk-url": "https://splunk.example.com:8088"},
			SecretOptions: []types.Secret{{Name: str("splunk-token"), ValueFrom: str("arn:aws:ssm:us-east-1:123456789012:parameter/splunk")}}}
	case kindExempt:
		in.Tags = append(in.Tags, tag("ecslogfix:exempt", "true"))
	case kindFirelens:
		app.LogConfiguration = &types.LogConfiguration{LogDriver: types.LogDriverAwsfirelens, Options: map[string]string{"Name": "cloudwatch_logs", "region": "us-east-1"}}
		router := types.ContainerDefinition{Name: str("log_router"), Image: str("public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"),
			Memory: aws.Int32(64), Essential: aws.Bool(true), LogConfiguration: awslogs(family, true),
			FirelensConfiguration: &types.FirelensConfiguration{Type: types.FirelensConfigurationTypeFluentbit}}
		in.ContainerDefinitions = append(in.ContainerDefinitions, router)
	case kindBlocked:
		in.NetworkMode = types.NetworkModeAwsvpc
		in.Volumes = nil
		in.RequiresCompatibilities = []types.Compatibility{types.CompatibilityFargate}
		in.Cpu, in.Memory = str("256"), str("512")
		app.Memory = nil
	}
	in.ContainerDefinitions = append([]types.ContainerDefinition{app}, in.ContainerDefinitions...)
	return in
}

// seedGroup creates the log group a family of kind writes to when it is
// compliant in fact (the FireLens router's too): every other kind's group
// is missing, as a new account's are.
func seedGroup(t *testing.T, logs *cloudwatchlogs.Client, kind, family string) {
	t.Helper()
	switch kind {
	case kindCompliant, kindHistorical, kindFirelens:
		if _, err := logs.CreateLogGroup(context.Background(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: str("/ecs/" + family)}); err != nil {
			t.Fatal(err)
		}
	}
}

// violating reports whether the latest revision of kind is a violation.
func violating(kind string) bool {
	return kind != kindCompliant && kind != kindExempt && kind != kindHistorical
}

// fixable reports whether fix --apply registers a revision for kind
// (nogroup is fixed by creating its group alone).
func fixable(kind string) bool {
	return kind == kindAdd || kind == kindComplete || kind == kindReplace
}

// seed registers n families, kinds in rotation (with the log groups of
// those compliant in fact), and returns family → kind.
func seed(t *testing.T, c *ecs.Client, logs *cloudwatchlogs.Client, n int) map[string]string {
	t.Helper()
	ctx := context.Background()
	fams := map[string]string{}
	for i := range n {
		kind := kinds[i%len(kinds)]
		family := fmt.Sprintf("%s-%03d", kind, i)
		if kind == kindHistorical {
			if _, err := c.RegisterTaskDefinition(ctx, seedInput(kindAdd, family)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := c.RegisterTaskDefinition(ctx, seedInput(kind, family)); err != nil {
			t.Fatal(err)
		}
		seedGroup(t, logs, kind, family)
		fams[family] = kind
	}
	return fams
}

// snapshot is family → latest revision ARN.
func snapshot(t *testing.T, c *ecs.Client, fams map[string]string) map[string]string {
	t.Helper()
	s := map[string]string{}
	for f := range fams {
		d, err := c.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: str(f)})
		if err != nil {
			t.Fatal(err)
		}
		s[f] = aws.ToString(d.TaskDefinition.TaskDefinitionArn)
	}
	return s
}

func logGroupCount(t *testing.T, l *cloudwatchlogs.Client) int {
	t.Helper()
	n := 0
	p := cloudwatchlogs.NewDescribeLogGroupsPaginator(l, &cloudwatchlogs.DescribeLogGroupsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.LogGroups)
	}
	return n
}

// TestMotoScanFixBackout is the proof: a few hundred families,
// scan finds exactly the violators, fix (dry run) changes nothing, fix
// --apply leaves every fixable family compliant with a lossless revision,
// a second fix --apply registers nothing, backout restores the previous
// latest revision.
func TestMotoScanFixBackout(t *testing.T) {
	c, logs := needMoto(t)
	ctx := context.Background()
	const n = 320
	fams := seed(t, c, logs, n)

	// scan: exactly the violators.
	begin := time.Now()
	r := runAWS(t, "scan", "--output", "json", "--read-rate", "1000")
	elapsed := time.Since(begin)
	if r.code != ExitViolation {
		t.Fatalf("scan exit %d\n%s", r.code, r.stderr)
	}
	var rows []scan.Row
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatalf("scan json: %v\n%s", err, r.stdout)
	}
	var got, want []string
	for _, row := range rows {
		if row.Verdict == scan.VerdictNonCompliant {
			got = append(got, row.Family)
		}
		if row.Verdict == scan.VerdictError {
			t.Errorf("scan error row %+v", row)
		}
	}
	for f, k := range fams {
		if violating(k) {
			want = append(want, f)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("scan found %d violators, want %d\ngot  %v\nwant %v", len(got), len(want), got, want)
	}
	t.Logf("scan: %d families in %v (%.0f families/s at --read-rate 1000); %s", n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), strings.TrimSpace(r.stderr))
	for _, row := range rows {
		wantAction := map[string]plan.Remedy{kindAdd: scan.ActionRegister, kindComplete: scan.ActionRegister, kindReplace: scan.ActionRegister,
			kindFirelens: scan.ActionReport, kindBlocked: scan.ActionBlocked, kindExempt: scan.ActionNone, kindNoGroup: scan.ActionCreateGroups}[fams[row.Family]]
		if row.Action != wantAction {
			t.Errorf("%s: action %s, want %s", row.Family, row.Action, wantAction)
		}
	}

	// fix dry run: nothing changes.
	before := snapshot(t, c, fams)
	groupsBefore := logGroupCount(t, logs)
	r = runAWS(t, "fix", "--all", "--read-rate", "1000")
	if r.code != ExitViolation || !strings.Contains(r.stdout, "dry run: nothing changed") {
		t.Fatalf("fix dry run exit %d\n%s\n%s", r.code, tail(r.stdout), r.stderr)
	}
	if after := snapshot(t, c, fams); !mapsEqual(before, after) {
		t.Fatal("fix dry run changed a task definition")
	}
	if g := logGroupCount(t, logs); g != groupsBefore {
		t.Fatalf("fix dry run created %d log groups", g-groupsBefore)
	}

	// fix --apply: every fixable family gets one lossless, compliant revision.
	begin = time.Now()
	r = runAWS(t, "fix", "--all", "--apply", "--rate", "20", "--read-rate", "1000")
	applyElapsed := time.Since(begin)
	if r.code != ExitViolation { // FireLens and blocked families remain
		t.Fatalf("fix --apply exit %d\n%s\n%s", r.code, tail(r.stdout), r.stderr)
	}
	fixed := 0
	pol := policy.Default()
	after := snapshot(t, c, fams)
	for f, k := range fams {
		if !fixable(k) {
			if after[f] != before[f] {
				t.Errorf("%s (%s): fix registered %s", f, k, after[f])
			}
			continue
		}
		fixed++
		checkLossless(t, c, pol, f, before[f], after[f])
	}
	if want := fmt.Sprintf("%d registered", fixed); !strings.Contains(r.stdout, want) {
		t.Errorf("fix --apply summary lacks %q:\n%s", want, tail(r.stdout))
	}
	// Every fixed family's groups, and the missing group of each family
	// compliant on paper, exist now; nothing else was created.
	created := 0
	for f, k := range fams {
		if fixable(k) || k == kindNoGroup {
			created++
			if g, err := logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: str("/ecs/" + f)}); err != nil || len(g.LogGroups) != 1 {
				t.Errorf("%s (%s): log group /ecs/%s: %v", f, k, f, err)
			}
		}
	}
	if g := logGroupCount(t, logs); g != groupsBefore+created {
		t.Errorf("fix --apply made %d log groups, want %d", g-groupsBefore, created)
	}
	if want := fmt.Sprintf("%d fixed by creating log groups", countKind(fams, kindNoGroup)); !strings.Contains(r.stdout, want) {
		t.Errorf("fix --apply summary lacks %q:\n%s", want, tail(r.stdout))
	}
	if !strings.Contains(r.stdout, "aws ecs deregister-task-definition") {
		t.Errorf("fix --apply printed no backout command:\n%s", tail(r.stdout))
	}
	t.Logf("fix --apply: %d revisions registered in %v at --rate 20", fixed, applyElapsed.Round(time.Millisecond))

	// scan again: only the families a human must fix.
	r = runAWS(t, "scan", "--output", "csv", "--read-rate", "1000")
	for f, k := range fams {
		listed := regexp.MustCompile(`\nus-east-1,` + f + `,\d+,[^,]*,NON_COMPLIANT,`).MatchString(r.stdout)
		if listed != (k == kindFirelens || k == kindBlocked) {
			t.Errorf("second scan: %s (%s) listed=%v", f, k, listed)
		}
	}

	// A second fix --apply registers nothing.
	r = runAWS(t, "fix", "--all", "--apply", "--rate", "20", "--read-rate", "1000")
	if !strings.Contains(r.stdout, " 0 registered") {
		t.Errorf("second fix --apply:\n%s", tail(r.stdout))
	}
	if again := snapshot(t, c, fams); !mapsEqual(after, again) {
		t.Fatal("second fix --apply registered revisions")
	}
	// fix of the old revision by name: the pipeline's rule says already remediated.
	var oneFixed string
	for f, k := range fams {
		if k == kindAdd && (oneFixed == "" || f < oneFixed) {
			oneFixed = f
		}
	}
	r = runAWS(t, "fix", "--task-definition", before[oneFixed], "--apply")
	if !strings.Contains(r.stdout, "ALREADY_REMEDIATED") || r.code != ExitOK {
		t.Errorf("fix of the remediated source: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// backout: a service on the new revision moves back, the revision is
	// deregistered, the empty log group ecslogfix created is deleted.
	newARN := after[oneFixed]
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: str("prod")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: str("prod"), ServiceName: str("web"), TaskDefinition: str(newARN), DesiredCount: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: str("prod"), ServiceName: str("other"), TaskDefinition: str(before["ok-000"]), DesiredCount: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	newRev := newARN[strings.LastIndex(newARN, "/")+1:]
	dry := runAWS(t, "backout", "--task-definition", newRev, "--cluster", "prod", "--delete-log-group")
	if dry.code != ExitOK || !strings.Contains(dry.stdout, "would deregister") || !strings.Contains(dry.stdout, "would move service web") ||
		!strings.Contains(dry.stdout, "would delete log group /ecs/"+oneFixed) || strings.Contains(dry.stdout, "service other") {
		t.Fatalf("backout dry run: exit %d\n%s%s", dry.code, dry.stdout, dry.stderr)
	}
	if now := snapshot(t, c, map[string]string{oneFixed: ""}); now[oneFixed] != newARN {
		t.Fatal("backout dry run changed the family")
	}
	r = runAWS(t, "backout", "--task-definition", newRev, "--cluster", "prod", "--delete-log-group", "--apply")
	if r.code != ExitOK {
		t.Fatalf("backout: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "latest ACTIVE revision of "+oneFixed+": "+before[oneFixed]) {
		t.Errorf("backout did not restore %s:\n%s", before[oneFixed], r.stdout)
	}
	d, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: str(newARN)})
	if err != nil || d.TaskDefinition.Status != types.TaskDefinitionStatusInactive {
		t.Errorf("new revision after backout: %v %v", err, d)
	}
	svcs, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: str("prod"), Services: []string{"web", "other"}})
	if err != nil {
		t.Fatal(err)
	}
	// The step names the source as FAMILY:REV, as its command does; ECS
	// answers with the ARN, moto with what it was given.
	ref := func(s string) string { return s[strings.LastIndex(s, "/")+1:] }
	for _, s := range svcs.Services {
		want := before[oneFixed]
		if aws.ToString(s.ServiceName) == "other" {
			want = before["ok-000"]
		}
		if ref(aws.ToString(s.TaskDefinition)) != ref(want) {
			t.Errorf("service %s runs %s, want %s", aws.ToString(s.ServiceName), aws.ToString(s.TaskDefinition), want)
		}
	}
	g, err := logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: str("/ecs/" + oneFixed)})
	if err != nil || len(g.LogGroups) != 0 {
		t.Errorf("log group /ecs/%s still there: %v", oneFixed, err)
	}

	// backout refuses revisions ecslogfix did not register.
	r = runAWS(t, "backout", "--task-definition", before["ok-000"][strings.LastIndex(before["ok-000"], "/")+1:], "--apply")
	if r.code != ExitError || !strings.Contains(r.stderr, "was not registered by ecslogfix") {
		t.Errorf("backout of a user revision: exit %d %s", r.code, r.stderr)
	}
	// An unknown family is a clear error.
	r = runAWS(t, "fix", "--task-definition", "no-such-family")
	if r.code != ExitError || !strings.Contains(r.stdout+r.stderr, "task definition no-such-family not found in us-east-1") {
		t.Errorf("unknown family: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func countKind(fams map[string]string, kind string) int {
	n := 0
	for _, k := range fams {
		if k == kind {
			n++
		}
	}
	return n
}

// checkLossless compares the source and the fixed revision: identical but
// for the logging of changed containers and the two ecslogfix tags; the
// fixed one is compliant.
func checkLossless(t *testing.T, c *ecs.Client, pol policy.Policy, family, srcARN, newARN string) {
	t.Helper()
	ctx := context.Background()
	if srcARN == newARN {
		t.Errorf("%s: not fixed (still %s)", family, srcARN)
		return
	}
	get := func(arn string) (*types.TaskDefinition, []types.Tag) {
		d, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: str(arn), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
		if err != nil {
			t.Fatal(err)
		}
		return d.TaskDefinition, d.Tags
	}
	src, srcTags := get(srcARN)
	fixed, fixedTags := get(newARN)
	if fixed.Revision != src.Revision+1 {
		t.Errorf("%s: revision %d after %d", family, fixed.Revision, src.Revision)
	}
	if ev := pol.Evaluate(fixed, fixedTags); !ev.Compliant {
		t.Errorf("%s: fixed revision not compliant: %+v", family, ev)
	}
	if v := taskdef.TagValue(fixedTags, taskdef.TagSourceRevision); v != fmt.Sprint(src.Revision) {
		t.Errorf("%s: %s=%q", family, taskdef.TagSourceRevision, v)
	}
	for _, tg := range srcTags {
		if taskdef.TagValue(fixedTags, aws.ToString(tg.Key)) != aws.ToString(tg.Value) {
			t.Errorf("%s: tag %s lost", family, aws.ToString(tg.Key))
		}
	}
	strip := func(td *types.TaskDefinition) string {
		cp := *td
		cp.ContainerDefinitions = slices.Clone(td.ContainerDefinitions)
		for i := range cp.ContainerDefinitions {
			cp.ContainerDefinitions[i].LogConfiguration = nil
		}
		in, err := taskdef.RegisterInput(&cp, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(in)
		return string(b)
	}
	if a, b := strip(src), strip(fixed); a != b {
		t.Errorf("%s: the fixed revision differs beyond logging:\nsource %s\nfixed  %s", family, a, b)
	}
	for i, sc := range src.ContainerDefinitions {
		fc := fixed.ContainerDefinitions[i]
		if sc.LogConfiguration != nil && sc.LogConfiguration.LogDriver == types.LogDriverAwslogs {
			for k, v := range sc.LogConfiguration.Options {
				if fc.LogConfiguration.Options[k] != v {
					t.Errorf("%s: awslogs option %s changed %q → %q", family, k, v, fc.LogConfiguration.Options[k])
				}
			}
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func tail(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-15):], "\n")
}

var rateRE = regexp.MustCompile(`\(\d+(\.\d+)? families/s\)`)

// A revision that is no longer ACTIVE: the dry run and --apply decide it
// the same way (INACTIVE: nothing to fix, exit 0), and nothing is created.
func TestMotoFixInactiveSourceDryRunAndApplyAgree(t *testing.T) {
	c, logs := needMoto(t)
	ctx := context.Background()
	out, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("inactive-source"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx"), Memory: aws.Int32(128)}}})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	if _, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	groups := logGroupCount(t, logs)
	for _, args := range [][]string{{"fix", "--task-definition", arn, "--output", "json"}, {"fix", "--task-definition", arn, "--apply", "--output", "json"}} {
		r := runAWS(t, args...)
		if r.code != 0 || !strings.Contains(r.stdout, `"outcome": "INACTIVE"`) {
			t.Errorf("%v: exit %d, want 0 and INACTIVE\n%s\n%s", args, r.code, r.stdout, r.stderr)
		}
	}
	if g := logGroupCount(t, logs); g != groups {
		t.Errorf("%d log groups created for an INACTIVE source", g-groups)
	}
}
