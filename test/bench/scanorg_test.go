package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
	"github.com/ecslogfix/ecslogfix/internal/awsclient"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

// TestBenchScanOrganization runs the CLI's scan --organization over 20
// account-regions (10 member accounts under one OU × 2 regions, 40
// families each, every fifth non-compliant) in moto, at --concurrency 8
// and 1: families per second, and the speed-up parallelism across
// account-regions buys. At the default --read-rate (10 reads/s per
// account-region, as ECS's buckets are per account and region) the pacing
// is what parallelism overlaps, as against AWS; unthrottled, the one moto
// process is the limit, so that row shows what the emulator, not the scan,
// allows.
func TestBenchScanOrganization(t *testing.T) {
	RequireBench(t)
	const accounts, perRegion = 10, 40
	regions := []string{"eu-west-1", "us-east-1"}
	endpoint := localaws.Start(t, localaws.Options{}).Endpoint
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	root := moduleRoot(t)
	setup := awsConfig(endpoint, nil)
	bin := buildHost(t, ctx, root, "./cmd/ecslogfix")

	org := localaws.NewOrganization(t, setup)
	ou := org.OU(org.Root, "workloads")
	for i := range accounts {
		id := org.Account(fmt.Sprintf("member-%02d", i), ou)
		for _, region := range regions {
			cfg := setup.Copy()
			cfg.Region = region
			cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(setup), awsarn.RoleARN("aws", id, "ecslogfix-member")))
			if err := seedFamilies(ctx, ecs.NewFromConfig(cfg), root, "org-", perRegion, 4); err != nil {
				t.Fatal(err)
			}
		}
	}
	env := []string{"AWS_ENDPOINT_URL=" + endpoint, "AWS_REGION=" + benchRegion, "AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test", "AWS_EC2_METADATA_DISABLED=true"}
	targets, families := accounts*len(regions), accounts*len(regions)*perRegion
	unthrottled := strconv.FormatFloat(awsclient.MaxReadRate, 'g', -1, 64)
	for _, readRate := range []string{strconv.FormatFloat(awsclient.DefaultReadRate, 'g', -1, 64), unthrottled} {
		rate := map[int]float64{}
		elapsed := map[int]time.Duration{}
		for _, concurrency := range []int{8, 1} {
			r, err := runChild(ctx, bin, env, "scan", "--organization", "--ou", ou, "--region", regions[0], "--region", regions[1],
				"--concurrency", strconv.Itoa(concurrency), "--read-rate", readRate, "--show-compliant", "--output", "json")
			if err != nil {
				t.Fatalf("scan --organization --concurrency %d: %v", concurrency, err)
			}
			var rows []json.RawMessage
			if err := json.Unmarshal(r.Stdout, &rows); err != nil || len(rows) != families || r.Exit != 1 {
				t.Fatalf("scan --organization --concurrency %d: exit %d, %d rows (want %d), %v", concurrency, r.Exit, len(rows), families, err)
			}
			rate[concurrency], elapsed[concurrency] = float64(families)/r.Elapsed.Seconds(), r.Elapsed
			t.Logf("--read-rate %s --concurrency %d: %d families in %s, peak RSS %s", readRate, concurrency, families, r.Elapsed.Round(time.Millisecond), MiB(r.MaxRSS))
		}
		RecordRow(t, Row{
			Measure: fmt.Sprintf("scan --organization over %d account-regions × %d families in moto, --read-rate %s per account-region: families per second at --concurrency 8 vs 1 (process wall time)",
				targets, perRegion, readRate),
			Subject: "ecslogfix scan --organization (CLI binary)",
			Value: fmt.Sprintf("%.1f vs %.1f families/s (%.1f s vs %.1f s: × %.1f)", rate[8], rate[1], elapsed[8].Seconds(), elapsed[1].Seconds(),
				rate[8]/rate[1]),
		})
	}
}
