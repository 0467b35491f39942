package backout

import (
	"reflect"
	"strings"
	"testing"
)

func TestBackout(t *testing.T) {
	got := Steps(Input{
		Region:           "us-east-1",
		NewARN:           "arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:15",
		SourceARN:        "arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:14",
		CreatedLogGroups: []Group{{Name: "/ecs/orders-api"}, {Name: "/ecs/orders#api/it's", DeletionProtected: true}},
	})
	want := []string{
		"aws ecs update-service --cluster <CLUSTER> --service <SERVICE> --task-definition orders-api:14 --region us-east-1",
		"aws ecs deregister-task-definition --task-definition arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:15 --region us-east-1",
		"aws ecs tag-resource --resource-arn arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:14 --tags key=ecslogfix:exempt-until,value=<YYYY-MM-DD> --region us-east-1",
		"aws logs delete-log-group --log-group-name /ecs/orders-api --region us-east-1",
		`aws logs put-log-group-deletion-protection --log-group-identifier '/ecs/orders#api/it'\''s' --no-deletion-protection-enabled --region us-east-1`,
		`aws logs delete-log-group --log-group-name '/ecs/orders#api/it'\''s' --region us-east-1`,
	}
	var cmds []string
	for _, s := range got {
		cmds = append(cmds, s.Command)
		if s.Description == "" {
			t.Fatalf("step without description: %+v", s)
		}
	}
	if !reflect.DeepEqual(cmds, want) {
		t.Fatalf("commands:\n%s\nwant\n%s", strings.Join(cmds, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(got[0].Description, "<CLUSTER>") {
		t.Fatalf("placeholder not explained: %q", got[0].Description)
	}
	type typed struct {
		kind                  StepKind
		resource              string
		conditional, optional bool
	}
	var kinds []typed
	for _, s := range got {
		kinds = append(kinds, typed{s.Kind, s.Resource(), s.Conditional, s.Optional})
		if s.Region != "us-east-1" {
			t.Errorf("%s: region %q", s.Kind, s.Region)
		}
	}
	wantKinds := []typed{
		{StepMoveService, "<CLUSTER>/<SERVICE>", true, false},
		{StepDeregister, "arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:15", false, false},
		{StepExemptUntil, "arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:14", false, false},
		{StepDeleteLogGroup, "/ecs/orders-api", false, true},
		{StepDisableDeletionProtection, "/ecs/orders#api/it's", false, true},
		{StepDeleteLogGroup, "/ecs/orders#api/it's", false, true},
	}
	if !reflect.DeepEqual(kinds, wantKinds) {
		t.Fatalf("steps:\n%+v\nwant\n%+v", kinds, wantKinds)
	}
}

// TestBind fills in the service of the conditional step: the command is
// the template's with the names in place of the placeholders.
func TestBind(t *testing.T) {
	steps := Steps(Input{
		NewARN:    "arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:15",
		SourceARN: "arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:14",
	})
	move := steps[0].Bind("prod", "checkout")
	want := strings.NewReplacer(PlaceholderCluster, "prod", PlaceholderService, "checkout").Replace(steps[0].Command)
	if move.Command != want || move.Conditional || move.Cluster != "prod" || move.Service != "checkout" ||
		move.TaskDefinition != "orders-api:14" || move.Resource() != "prod/checkout" {
		t.Fatalf("bound step %+v\nwant command %s", move, want)
	}
	if move.Description != "Point the service checkout in cluster prod back at the source revision orders-api:14." {
		t.Errorf("description %q", move.Description)
	}
	if odd := steps[0].Bind("prod", "it's"); !strings.Contains(odd.Command, `--service 'it'\''s'`) {
		t.Errorf("service name not quoted: %s", odd.Command)
	}
	if r := (Step{Kind: StepMoveService, Cluster: "prod"}).Resource(); r != "prod" {
		t.Errorf("a cluster's services: resource %q", r)
	}
	if d := steps[1].Bind("prod", "checkout"); !reflect.DeepEqual(d, steps[1]) {
		t.Errorf("Bind changed an unconditional step: %+v", d)
	}
}

func TestBackoutRegion(t *testing.T) {
	tests := []struct {
		name string
		in   Input
		want string // last command
	}{
		{"from new arn", Input{NewARN: "arn:aws:ecs:eu-west-1:111122223333:task-definition/a:2"}, "aws ecs deregister-task-definition --task-definition arn:aws:ecs:eu-west-1:111122223333:task-definition/a:2 --region eu-west-1"},
		{"from source arn", Input{SourceARN: "arn:aws-cn:ecs:cn-north-1:111122223333:task-definition/a:1"}, "aws ecs update-service --cluster <CLUSTER> --service <SERVICE> --task-definition a:1 --region cn-north-1"},
		{"unknown region", Input{SourceARN: "a:1", CreatedLogGroups: []Group{{Name: "/g"}}}, "aws logs delete-log-group --log-group-name /g --region <REGION>"},
		{"region wins", Input{Region: "us-west-2", NewARN: "arn:aws:ecs:eu-west-1:111122223333:task-definition/a:2"}, "aws ecs deregister-task-definition --task-definition arn:aws:ecs:eu-west-1:111122223333:task-definition/a:2 --region us-west-2"},
	}
	for _, tt := range tests {
		steps := Steps(tt.in)
		if len(steps) == 0 || steps[len(steps)-1].Command != tt.want {
			t.Errorf("%s: steps = %+v", tt.name, steps)
		}
	}
	if steps := Steps(Input{}); len(steps) != 0 {
		t.Fatalf("empty input gives %+v", steps)
	}
}

// The date a backout chose is quoted in place of the placeholder, with the
// policy's end-date tag key.
func TestBackoutExemptUntil(t *testing.T) {
	steps := Steps(Input{Region: "eu-west-1", NewARN: "arn:aws:ecs:eu-west-1:111122223333:task-definition/a:2",
		SourceARN: "arn:aws:ecs:eu-west-1:111122223333:task-definition/a:1", ExemptKey: "skip-until", ExemptUntil: "2027-01-31"})
	s := steps[len(steps)-1]
	if s.Kind != StepExemptUntil || s.Until != "2027-01-31" || s.TagKey != "skip-until" ||
		s.Command != "aws ecs tag-resource --resource-arn arn:aws:ecs:eu-west-1:111122223333:task-definition/a:1 --tags key=skip-until,value=2027-01-31 --region eu-west-1" {
		t.Errorf("step %+v", s)
	}
}

func TestQuote(t *testing.T) {
	tests := map[string]string{
		"":                       "''",
		"/ecs/orders-api":        "/ecs/orders-api",
		"arn:aws:ecs:x:1:t/f:1":  "arn:aws:ecs:x:1:t/f:1",
		"a b":                    "'a b'",
		"it's":                   `'it'\''s'`,
		"$(rm -rf /)":            "'$(rm -rf /)'",
		"#comment":               "'#comment'",
		"`x`;y|z&w>v<u*t?s\\r\n": "'`x`;y|z&w>v<u*t?s\\r\n'",
		"ünïcode":                "'ünïcode'",
	}
	for in, want := range tests {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestFamilyRevision(t *testing.T) {
	if got := FamilyRevision("arn:aws:ecs:us-east-1:111122223333:task-definition/web:7"); got != "web:7" {
		t.Fatal(got)
	}
	if got := FamilyRevision("not-an-arn"); got != "not-an-arn" {
		t.Fatal(got)
	}
}

// A group in another region (central logging) is deleted there; a group
// whose retention ecslogfix set gets its old one back.
func TestBackoutGroupsOfTheirRegion(t *testing.T) {
	got := Steps(Input{
		Region:           "us-east-1",
		CreatedLogGroups: []Group{{Name: "/ecs/a", Region: "eu-west-1", DeletionProtected: true}},
		RetentionSet:     []Group{{Name: "/ecs/b"}, {Name: "/ecs/c", Region: "eu-west-1", PreviousRetentionDays: 30}},
	})
	want := []string{
		"aws logs put-log-group-deletion-protection --log-group-identifier /ecs/a --no-deletion-protection-enabled --region eu-west-1",
		"aws logs delete-log-group --log-group-name /ecs/a --region eu-west-1",
		"aws logs delete-retention-policy --log-group-name /ecs/b --region us-east-1",
		"aws logs put-retention-policy --log-group-name /ecs/c --retention-in-days 30 --region eu-west-1",
	}
	var cmds []string
	for _, s := range got {
		cmds = append(cmds, s.Command)
		if !s.Optional || s.Description == "" {
			t.Errorf("%s: optional %v, description %q", s.Kind, s.Optional, s.Description)
		}
	}
	if !reflect.DeepEqual(cmds, want) || got[3].Kind != StepRestoreRetention || got[3].Resource() != "/ecs/c" {
		t.Fatalf("commands:\n%s\nwant\n%s", strings.Join(cmds, "\n"), strings.Join(want, "\n"))
	}
}

// With a rollout record, backout points exactly the moved consumers back,
// each with the revision it ran before, and needs no placeholder step.
func TestBackoutMovedConsumers(t *testing.T) {
	const (
		src = "arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:14"
		nw  = "arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:15"
	)
	in := Input{
		Region: "us-east-1", NewARN: nw, SourceARN: src,
		Moved: []Moved{
			{Kind: MovedService, Name: "checkout", Cluster: "prod", Before: src, After: nw},
			{Kind: MovedRuleTarget, Name: "nightly", EventBus: "default", TargetID: "run", Before: src, After: nw},
			{Kind: MovedSchedule, Name: "report", Group: "ops", Before: src, After: nw},
		},
	}
	got := Steps(in)
	want := []string{
		"aws ecs update-service --cluster prod --service checkout --task-definition orders-api:14 --region us-east-1",
		"aws events list-targets-by-rule --rule nightly --event-bus-name default --region us-east-1 --output json | jq --arg id run --arg td " + src +
			" '[.Targets[] | select(.Id == $id) | .EcsParameters.TaskDefinitionArn = $td]' > ecslogfix-target.json && aws events put-targets --rule nightly --event-bus-name default --region us-east-1 --targets file://ecslogfix-target.json",
		"aws scheduler get-schedule --name report --group-name ops --region us-east-1 --output json | jq --arg td " + src +
			" 'del(.Arn, .CreationDate, .LastModificationDate) | .Target.EcsParameters.TaskDefinitionArn = $td' > ecslogfix-schedule.json && aws scheduler update-schedule --region us-east-1 --cli-input-json file://ecslogfix-schedule.json",
		"aws ecs deregister-task-definition --task-definition " + nw + " --region us-east-1",
		"aws ecs tag-resource --resource-arn " + src + " --tags key=ecslogfix:exempt-until,value=<YYYY-MM-DD> --region us-east-1",
	}
	var cmds []string
	for _, s := range got {
		cmds = append(cmds, s.Command)
		if s.Conditional {
			t.Errorf("conditional step %+v with a rollout record", s)
		}
	}
	if !reflect.DeepEqual(cmds, want) {
		t.Fatalf("commands:\n%s\nwant\n%s", strings.Join(cmds, "\n"), strings.Join(want, "\n"))
	}
	kinds := []StepKind{StepMoveService, StepMoveRuleTarget, StepMoveSchedule, StepDeregister, StepExemptUntil}
	resources := []string{"prod/checkout", "default/nightly#run", "ops/report", nw, src}
	for i, s := range got {
		if s.Kind != kinds[i] || s.Resource() != resources[i] {
			t.Errorf("step %d: %s %s, want %s %s", i, s.Kind, s.Resource(), kinds[i], resources[i])
		}
		if i < 3 && (s.From != nw || !strings.Contains(s.Description, "orders-api:14")) {
			t.Errorf("step %d: from %q, description %q", i, s.From, s.Description)
		}
	}

	// The source was deregistered: a copy is registered first, the moves
	// name it by placeholder (unquoted: the printed command fails in the
	// shell until ecslogfix backout fills it in).
	in.SourceDeregistered, in.ExecutionARN = true, "arn:aws:states:us-east-1:111122223333:execution:ecslogfix-remediation:x"
	got = Steps(in)
	if got[0].Kind != StepReregisterSource || got[0].TaskDefinition != src ||
		got[0].Command != "ecslogfix backout --task-definition orders-api:15 --execution arn:aws:states:us-east-1:111122223333:execution:ecslogfix-remediation:x --apply --region us-east-1" {
		t.Fatalf("first step %+v", got[0])
	}
	if got[1].Command != "aws ecs update-service --cluster prod --service checkout --task-definition "+PlaceholderCopy+" --region us-east-1" ||
		got[1].TaskDefinition != PlaceholderCopy || !strings.Contains(got[2].Command, "--arg td "+PlaceholderCopy+" ") {
		t.Errorf("moves after a deregistered source: %+v / %s", got[1], got[2].Command)
	}
}

// What moves a consumer ecslogfix left alone: the same commands towards
// the new revision; CodeDeploy and task sets for the other controllers.
func TestMoveStepAndManualRollout(t *testing.T) {
	const nw = "arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:15"
	s := MoveStep(Moved{Kind: MovedService, Name: "web", Cluster: "prod", Before: "x:14", After: "x:14"}, nw, "us-east-1")
	if s.Command != "aws ecs update-service --cluster prod --service web --task-definition orders-api:15 --region us-east-1" ||
		s.Description != "Point the service web in cluster prod at the new revision orders-api:15." {
		t.Errorf("forward move %+v", s)
	}
	if (MoveStep(Moved{Kind: "TASK"}, nw, "")).Kind != "" {
		t.Error("an unknown kind got a step")
	}
	cd := ManualRollout(Manual{Controller: "CODE_DEPLOY", Cluster: "prod", Service: "web", NewARN: nw, Region: "us-east-1", Container: "app", Port: 8080})
	want := `aws deploy create-deployment --application-name <APPLICATION> --deployment-group-name <DEPLOYMENT_GROUP> --region us-east-1 --revision '{"appSpecContent":{"content":"{\"Resources\":[{\"TargetService\":{\"Properties\":{\"LoadBalancerInfo\":{\"ContainerName\":\"app\",\"ContainerPort\":8080},\"TaskDefinition\":\"` + nw + `\"},\"Type\":\"AWS::ECS::Service\"}}],\"version\":0.0}"},"revisionType":"AppSpecContent"}'`
	if cd != want {
		t.Errorf("CodeDeploy command\n%s\nwant\n%s", cd, want)
	}
	if ext := ManualRollout(Manual{Controller: "EXTERNAL", Cluster: "prod", Service: "web", NewARN: nw}); ext != "aws ecs create-task-set --cluster prod --service web --task-definition "+nw+" --region <REGION>" {
		t.Errorf("EXTERNAL command %s", ext)
	}
}
