package plan

import (
	"reflect"
	"strings"
	"testing"
)

func TestBackout(t *testing.T) {
	got := Backout(BackoutInput{
		Region:            "us-east-1",
		NewARN:            "arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:15",
		SourceARN:         "arn:aws:ecs:us-east-1:111122223333:task-definition/orders-api:14",
		CreatedLogGroups:  []string{"/ecs/orders-api", "/ecs/orders#api/it's"},
		DeletionProtected: []string{"/ecs/orders#api/it's"},
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
	steps := Backout(BackoutInput{
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
		in   BackoutInput
		want string // last command
	}{
		{"from new arn", BackoutInput{NewARN: "arn:aws:ecs:eu-west-1:111122223333:task-definition/a:2"}, "aws ecs deregister-task-definition --task-definition arn:aws:ecs:eu-west-1:111122223333:task-definition/a:2 --region eu-west-1"},
		{"from source arn", BackoutInput{SourceARN: "arn:aws-cn:ecs:cn-north-1:111122223333:task-definition/a:1"}, "aws ecs update-service --cluster <CLUSTER> --service <SERVICE> --task-definition a:1 --region cn-north-1"},
		{"unknown region", BackoutInput{SourceARN: "a:1", CreatedLogGroups: []string{"/g"}}, "aws logs delete-log-group --log-group-name /g --region <REGION>"},
		{"region wins", BackoutInput{Region: "us-west-2", NewARN: "arn:aws:ecs:eu-west-1:111122223333:task-definition/a:2"}, "aws ecs deregister-task-definition --task-definition arn:aws:ecs:eu-west-1:111122223333:task-definition/a:2 --region us-west-2"},
	}
	for _, tt := range tests {
		steps := Backout(tt.in)
		if len(steps) == 0 || steps[len(steps)-1].Command != tt.want {
			t.Errorf("%s: steps = %+v", tt.name, steps)
		}
	}
	if steps := Backout(BackoutInput{}); len(steps) != 0 {
		t.Fatalf("empty input gives %+v", steps)
	}
}

// The date a backout chose is quoted in place of the placeholder, with the
// policy's end-date tag key.
func TestBackoutExemptUntil(t *testing.T) {
	steps := Backout(BackoutInput{Region: "eu-west-1", NewARN: "arn:aws:ecs:eu-west-1:111122223333:task-definition/a:2",
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
	if got := familyRevision("arn:aws:ecs:us-east-1:111122223333:task-definition/web:7"); got != "web:7" {
		t.Fatal(got)
	}
	if got := familyRevision("not-an-arn"); got != "not-an-arn" {
		t.Fatal(got)
	}
}
