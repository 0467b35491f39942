package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// EnvCheckFiles overrides the number of files TestBenchCheckThroughput
// writes (default 2000).
const EnvCheckFiles = "ECSLOGFIX_BENCH_CHECK_FILES"

// writeCheckTree writes n inputs of every format check reads into dir — a
// repository's infrastructure directory — and returns their total size.
// Each template holds several task definitions with intrinsics, as
// templates do.
func writeCheckTree(t *testing.T, dir string, n int) int64 {
	t.Helper()
	var total int64
	write := func(name, s string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		total += int64(len(s))
	}
	for i := range n {
		svc := fmt.Sprintf("svc%04d", i)
		switch i % 4 {
		case 0, 1: // CloudFormation YAML, five task definitions
			var b strings.Builder
			b.WriteString("AWSTemplateFormatVersion: \"2010-09-09\"\nParameters:\n  Group:\n    Type: String\nResources:\n  Logs:\n    Type: AWS::Logs::LogGroup\n")
			for j := range 5 {
				fmt.Fprintf(&b, "  Task%d:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n      Family: %s-%d\n      RequiresCompatibilities: [FARGATE]\n      Cpu: 256\n      Memory: 512\n      ContainerDefinitions:\n", j, svc, j)
				for k := range 3 {
					fmt.Fprintf(&b, "        - Name: c%d\n          Image: !Sub \"${AWS::AccountId}.dkr.ecr.${AWS::Region}.amazonaws.com/%s:%d\"\n          Environment:\n            - {Name: STAGE, Value: prod}\n          PortMappings: [{ContainerPort: 8080}]\n", k, svc, k)
					if (j+k)%4 != 3 {
						group := "!Ref Logs"
						if k == 2 {
							group = "!Ref Group"
						}
						fmt.Fprintf(&b, "          LogConfiguration:\n            LogDriver: awslogs\n            Options:\n              awslogs-group: %s\n              awslogs-region: !Ref AWS::Region\n              awslogs-stream-prefix: %s\n", group, svc)
					}
				}
			}
			write(fmt.Sprintf("cfn/%s.yaml", svc), b.String())
		case 2: // task definition JSON (register input)
			var cds []string
			for k := range 3 {
				cds = append(cds, fmt.Sprintf(`{"name":"c%d","image":"%s:%d","essential":true,"portMappings":[{"containerPort":8080}],"environment":[{"name":"STAGE","value":"prod"}],"logConfiguration":{"logDriver":"awslogs","options":{"awslogs-group":"/ecs/%s","awslogs-region":"us-east-1","awslogs-stream-prefix":"ecs"}}}`, k, svc, k, svc))
			}
			write(fmt.Sprintf("taskdefs/%s.json", svc), fmt.Sprintf(`{"family":"%s","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512","containerDefinitions":[%s],"tags":[{"key":"team","value":"%s"}]}`, svc, strings.Join(cds, ","), svc))
		case 3: // Terraform plan, two task definitions
			cd, _ := json.Marshal(fmt.Sprintf(`[{"name":"app","image":"%s:1","essential":true,"logConfiguration":{"logDriver":"awslogs","options":{"awslogs-group":"/ecs/%s","awslogs-region":"eu-west-1"}}}]`, svc, svc))
			rc := func(name string, unknown bool) string {
				after := fmt.Sprintf(`{"family":"%s-%s","cpu":"256","memory":"512","container_definitions":%s,"tags":{"team":"%s"}}`, svc, name, cd, svc)
				au := `{"arn":true,"revision":true}`
				if unknown {
					after = fmt.Sprintf(`{"family":"%s-%s","cpu":"256","memory":"512","tags":null}`, svc, name)
					au = `{"arn":true,"revision":true,"container_definitions":true}`
				}
				return fmt.Sprintf(`{"address":"aws_ecs_task_definition.%s","mode":"managed","type":"aws_ecs_task_definition","name":"%s","change":{"actions":["create"],"before":null,"after":%s,"after_unknown":%s}}`, name, name, after, au)
			}
			write(fmt.Sprintf("plans/%s.json", svc), fmt.Sprintf(`{"format_version":"1.2","terraform_version":"1.9.8","planned_values":{"root_module":{}},"resource_changes":[%s,%s]}`, rc("app", false), rc("worker", true)))
		}
	}
	// Files a repository holds beside them, which check skips.
	write("package.json", `{"name":"infra","version":"1.0.0"}`)
	return total
}

// TestBenchCheckThroughput measures `ecslogfix check` over a large
// directory of templates, plans and task definitions: files and MiB per
// second of the CLI process's wall time, and its peak RSS.
func TestBenchCheckThroughput(t *testing.T) {
	RequireBench(t)
	n := EnvInt(t, EnvCheckFiles, 2000, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bin := buildHost(t, ctx, moduleRoot(t), "./cmd/ecslogfix")
	dir := t.TempDir()
	size := writeCheckTree(t, dir, n)

	const runs = 5
	var elapsed []time.Duration
	var rss []int64
	var last childRun
	for range runs {
		r, err := runChild(ctx, bin, nil, "check", "--output", "json", dir)
		if err != nil {
			t.Fatal(err)
		}
		if r.Exit != 1 { // the tree holds non-compliant and unresolved task definitions
			t.Fatalf("exit %d", r.Exit)
		}
		elapsed = append(elapsed, r.Elapsed)
		rss = append(rss, r.MaxRSS)
		last = r
	}
	var reports []struct {
		Verdict string `json:"verdict"`
		Error   string `json:"error"`
	}
	if err := json.Unmarshal(last.Stdout, &reports); err != nil {
		t.Fatal(err)
	}
	verdicts := map[string]int{}
	for _, r := range reports {
		if r.Error != "" {
			t.Fatalf("unreadable input in the bench tree: %s", r.Error)
		}
		verdicts[r.Verdict]++
	}
	sort.Slice(elapsed, func(i, j int) bool { return elapsed[i] < elapsed[j] })
	med := elapsed[runs/2]
	mib := float64(size) / (1 << 20)
	RecordRow(t, Row{
		Measure: fmt.Sprintf("check throughput over a directory of %d files (%.1f MiB: CloudFormation YAML with 5 task definitions each, Terraform plans, task definition JSON; %d task definitions), median of %d runs",
			n, mib, len(reports), runs),
		Subject: "ecslogfix check (CLI binary)",
		Value: fmt.Sprintf("%.0f files/s, %.1f MiB/s (%.2f s; min %.2f s, max %.2f s); peak RSS %s",
			float64(n)/med.Seconds(), mib/med.Seconds(), med.Seconds(), elapsed[0].Seconds(), elapsed[runs-1].Seconds(), MiB(Median(rss))),
	})
	t.Logf("verdicts %v", verdicts)
}
