package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
	"github.com/ecslogfix/ecslogfix/internal/cli/command"
	"github.com/ecslogfix/ecslogfix/internal/cli/scan"
	"github.com/ecslogfix/ecslogfix/test/faultproxy"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

// motoOrg is an organization in moto: the management account (the
// caller) at the root, two OUs of two accounts each, families in two
// regions. One account's role cannot be assumed and one account denies a
// region, as the fault proxy answers for AWS (moto's AssumeRole always
// succeeds, and it has no service control policies).
type motoOrg struct {
	mgmt, workloads, sandbox    string
	payments, web, data, legacy string
	// families: account → region → family → kind (what each account-region holds)
	families map[string]map[string]map[string]string
}

func newMotoOrg(t *testing.T) motoOrg {
	t.Helper()
	needMoto(t)
	ctx := context.Background()
	// moto draws account and OU IDs at random: seeded, they are the same
	// on every run (the golden transcripts show them).
	resp, err := http.Post(standIns.URL+"/moto-api/seed?a=42", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	org := localaws.NewOrganization(t, cfg)
	o := motoOrg{mgmt: org.Management, workloads: org.OU(org.Root, "workloads"), sandbox: org.OU(org.Root, "sandbox")}
	o.payments, o.web = org.Account("payments", o.workloads), org.Account("web", o.workloads)
	o.data, o.legacy = org.Account("data", o.sandbox), org.Account("legacy", o.sandbox)
	o.families = map[string]map[string]map[string]string{
		o.mgmt:     {"us-east-1": {"nolog-mgmt": kindAdd, "ok-mgmt": kindCompliant}},
		o.payments: {"us-east-1": {"nolog-pay": kindAdd, "ok-pay": kindCompliant}, "eu-west-1": {"splunk-pay": kindReplace}},
		o.web:      {"us-east-1": {"nolog-web": kindAdd}},
		o.data:     {"us-east-1": {"noprefix-data": kindComplete}, "eu-west-1": {"nolog-data": kindAdd}},
		o.legacy:   {"us-east-1": {"fargate-norole-legacy": kindBlocked, "exempt-legacy": kindExempt}},
	}
	for acct, regions := range o.families {
		for region, fams := range regions {
			c, logs := o.clients(t, cfg, acct, region)
			// In name order, as ECS lists families (moto lists them in
			// the order they were registered).
			for _, family := range slices.Sorted(maps.Keys(fams)) {
				kind := fams[family]
				if _, err := c.RegisterTaskDefinition(ctx, seedInput(kind, family)); err != nil {
					t.Fatal(err)
				}
				seedGroup(t, logs, kind, family)
			}
		}
	}
	// As AWS would answer: web's role does not trust the caller, and a
	// service control policy denies data every call in eu-west-1.
	if err := standIns.SetRules([]faultproxy.Rule{
		{API: "sts:AssumeRole", Role: o.role(o.web), Rates: map[faultproxy.Kind]float64{faultproxy.Denied: 1}},
		{API: "*", Account: o.data, Region: "eu-west-1", Rates: map[faultproxy.Kind]float64{faultproxy.Denied: 1}},
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = standIns.SetRules(nil) })
	return o
}

func (o motoOrg) role(account string) string {
	return awsarn.RoleARN("aws", account, "ecslogfix-member")
}

// clients are ECS and Logs clients in account (through its role, as moto
// lets any role be assumed) and region.
func (o motoOrg) clients(t *testing.T, cfg aws.Config, account, region string) (*ecs.Client, *cloudwatchlogs.Client) {
	t.Helper()
	c := cfg.Copy()
	c.Region = region
	if account != o.mgmt {
		c.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), o.role(account)))
	}
	return ecs.NewFromConfig(c), cloudwatchlogs.NewFromConfig(c)
}

// TestMotoScanOrganization: every reachable account-region's families
// appear with their account, the unreachable ones are rows with the
// reason, the exit status is 2, and the output does not depend on
// --concurrency.
func TestMotoScanOrganization(t *testing.T) {
	o := newMotoOrg(t)
	args := []string{"scan", "--organization", "--region", "us-east-1", "--region", "eu-west-1", "--show-compliant", "--output", "json"}
	r := runAWS(t, append(args, "--concurrency", "8")...)
	if r.code != ExitError {
		t.Fatalf("exit %d, want 2\n%s%s", r.code, r.stdout, r.stderr)
	}
	var rows []scan.Row
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	// moto names the management account "master".
	names := map[string]string{o.mgmt: "master", o.payments: "payments", o.web: "web", o.data: "data", o.legacy: "legacy"}
	type seen struct{ account, region, family string }
	var got, want []seen
	unreachable := map[seen]string{}
	for _, row := range rows {
		if row.Family == "" {
			unreachable[seen{row.Account, row.Region, ""}] = row.Error
			continue
		}
		got = append(got, seen{row.Account, row.Region, row.Family})
		if !strings.Contains(row.TaskDefinitionARN, ":"+row.Account+":") || row.AccountName != names[row.Account] {
			t.Errorf("row of %s in account %s (%q): %s", row.Family, row.Account, row.AccountName, row.TaskDefinitionARN)
		}
	}
	for acct, regions := range o.families {
		for region, fams := range regions {
			for family := range fams {
				if acct != o.web && (acct != o.data || region != "eu-west-1") {
					want = append(want, seen{acct, region, family})
				}
			}
		}
	}
	order := func(x, y seen) int { return strings.Compare(x.account+x.region+x.family, y.account+y.region+y.family) }
	slices.SortFunc(got, order)
	slices.SortFunc(want, order)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("families\n%v\nwant\n%v", got, want)
	}
	wantUnreachable := map[seen]string{
		{o.web, "eu-west-1", ""}:  "account not reachable: cannot assume " + o.role(o.web) + ": access denied",
		{o.web, "us-east-1", ""}:  "account not reachable: cannot assume " + o.role(o.web) + ": access denied",
		{o.data, "eu-west-1", ""}: "region not scanned: access denied",
	}
	if len(unreachable) != len(wantUnreachable) {
		t.Errorf("unreachable rows %v, want %v", unreachable, wantUnreachable)
	}
	for k, prefix := range wantUnreachable {
		if !strings.HasPrefix(unreachable[k], prefix) {
			t.Errorf("%v: %q, want it to start with %q", k, unreachable[k], prefix)
		}
	}
	if !strings.Contains(r.stderr, "3 of 10 account-regions not reachable") {
		t.Errorf("summary: %s", r.stderr)
	}
	// One at a time, the same rows in the same order.
	if serial := runAWS(t, append(args, "--concurrency", "1")...); serial.stdout != r.stdout || serial.code != r.code {
		t.Errorf("--concurrency 1 differs from 8:\n%s\n---\n%s", serial.stdout, r.stdout)
	}

	// On a terminal a progress bar over the account-regions (count and
	// time left) is drawn on stderr; stdout is the same.
	var out, errb bytes.Buffer
	a := &App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: os.Getenv, LoadAWS: command.LoadAWS, Now: motoNow,
		IsTerminal: func(io.Writer) bool { return true }}
	if code := a.Run(context.Background(), append(args, "--concurrency", "8")); code != ExitError || out.String() != r.stdout {
		t.Errorf("on a terminal: exit %d, stdout differs: %v", code, out.String() != r.stdout)
	}
	if bar := errb.String(); !strings.Contains(bar, "scanning") || !strings.Contains(bar, "/10") || !strings.Contains(bar, "account-regions") {
		t.Errorf("no progress bar over the 10 account-regions on stderr:\n%q", bar)
	}

	// The transcripts docs/cli.md shows.
	goldenRun(t, "scan-organization", 2, "scan", "--organization", "--region", "us-east-1", "--region", "eu-west-1")
	goldenRun(t, "scan-organization-ou-json", 2, "scan", "--organization", "--ou", o.sandbox, "--region", "us-east-1", "--region", "eu-west-1", "--output", "json")
	goldenRun(t, "scan-organization-csv", 2, "scan", "--organization", "--ou", o.workloads, "--region", "us-east-1", "--show-compliant", "--output", "csv")
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := o.clients(t, cfg, o.payments, "us-east-1")
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("checkout"),
		TaskDefinition: aws.String("nolog-pay:1"), DesiredCount: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	r = goldenRun(t, "scan-organization-consumers", 2, "scan", "--organization", "--ou", o.workloads, "--region", "us-east-1", "--consumers", "--output", "json")
	if !strings.Contains(r.stdout, "service/prod/checkout") {
		t.Errorf("--consumers: the service running nolog-pay:1 is missing\n%s", r.stdout)
	}
}
