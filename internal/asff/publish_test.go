package asff

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/ecslogfix/ecslogfix/internal/history"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
	"github.com/ecslogfix/ecslogfix/internal/workflow"
	"github.com/ecslogfix/ecslogfix/test/localaws"
)

func TestMain(m *testing.M) { localaws.Main(m) }

// contract is a stand-in for Security Hub's GetFindings and
// BatchUpdateFindings built from the API reference's request and response
// shapes (moto ignores GetFindings filters and has no BatchUpdateFindings):
// string filters with EQUALS on the attributes ecslogfix filters by, an
// unknown filter attribute refused, pages of two, and BatchUpdateFindings'
// identifier and note constraints.
type contract struct {
	mu       sync.Mutex
	findings []map[string]any
	notes    map[string]string
	requests []string
}

func (c *contract) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var in map[string]any
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		fail(w, "InvalidInputException", err.Error())
		return
	}
	c.requests = append(c.requests, r.Method+" "+r.URL.Path)
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/findings":
		c.getFindings(w, in)
	case r.Method == http.MethodPatch && r.URL.Path == "/findings/batchupdate":
		c.batchUpdate(w, in)
	default:
		fail(w, "InvalidInputException", "no such operation "+r.Method+" "+r.URL.Path)
	}
}

func fail(w http.ResponseWriter, code, msg string) {
	w.Header().Set("X-Amzn-Errortype", code)
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"Message": msg})
}

// attribute is where each supported filter looks in a finding.
var attribute = map[string]func(map[string]any) []string{
	"ComplianceSecurityControlId": func(f map[string]any) []string { return []string{str(f["Compliance"], "SecurityControlId")} },
	"ResourceId": func(f map[string]any) []string {
		var ids []string
		for _, r := range f["Resources"].([]any) {
			ids = append(ids, str(r, "Id"))
		}
		return ids
	},
	"AwsAccountId": func(f map[string]any) []string { return []string{f["AwsAccountId"].(string)} },
	"RecordState":  func(f map[string]any) []string { return []string{f["RecordState"].(string)} },
}

func str(v any, k string) string { s, _ := v.(map[string]any)[k].(string); return s }

func (c *contract) getFindings(w http.ResponseWriter, in map[string]any) {
	filters, _ := in["Filters"].(map[string]any)
	var match []map[string]any
	for _, f := range c.findings {
		ok := true
		for name, fv := range filters {
			get, known := attribute[name]
			if !known {
				fail(w, "InvalidInputException", "filter "+name+" is not supported by this stand-in")
				return
			}
			for _, cond := range fv.([]any) {
				cm := cond.(map[string]any)
				if cm["Comparison"] != "EQUALS" {
					fail(w, "InvalidInputException", "comparison "+fmt.Sprint(cm["Comparison"]))
					return
				}
				ok = ok && slices.Contains(get(f), cm["Value"].(string))
			}
		}
		if ok {
			match = append(match, f)
		}
	}
	start, _ := strconv.Atoi(fmt.Sprint(in["NextToken"]))
	end := min(start+2, len(match))
	out := map[string]any{"Findings": match[start:end]}
	if end < len(match) {
		out["NextToken"] = strconv.Itoa(end)
	}
	_ = json.NewEncoder(w).Encode(out)
}

func (c *contract) batchUpdate(w http.ResponseWriter, in map[string]any) {
	ids, _ := in["FindingIdentifiers"].([]any)
	note, _ := in["Note"].(map[string]any)
	text, by := str(note, "Text"), str(note, "UpdatedBy")
	switch {
	case len(ids) == 0 || len(ids) > 100:
		fail(w, "InvalidInputException", "FindingIdentifiers: 1 to 100")
		return
	case note != nil && (len(text) == 0 || len(text) > 512 || len(by) == 0 || len(by) > 512):
		fail(w, "InvalidInputException", "Note: Text and UpdatedBy, 1 to 512 characters each")
		return
	}
	var processed, unprocessed []any
	for _, v := range ids {
		id := v.(map[string]any)
		if str(id, "Id") == "" || str(id, "ProductArn") == "" {
			fail(w, "InvalidInputException", "a finding identifier needs Id and ProductArn")
			return
		}
		if !slices.ContainsFunc(c.findings, func(f map[string]any) bool { return f["Id"] == id["Id"] && f["ProductArn"] == id["ProductArn"] }) {
			unprocessed = append(unprocessed, map[string]any{"FindingIdentifier": id, "ErrorCode": "FindingNotFound", "ErrorMessage": "finding not found"})
			continue
		}
		c.notes[str(id, "Id")] = text
		processed = append(processed, id)
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"ProcessedFindings": processed, "UnprocessedFindings": unprocessed})
}

func ecs9(id, account, arn, state string) map[string]any {
	return map[string]any{"Id": id, "ProductArn": "arn:aws:securityhub:eu-west-1::product/aws/securityhub", "AwsAccountId": account,
		"Compliance": map[string]any{"SecurityControlId": "ECS.9"}, "RecordState": state,
		"Resources": []any{map[string]any{"Type": "AwsEcsTaskDefinition", "Id": arn}}}
}

type importer struct {
	mu    sync.Mutex
	calls map[string][]types.AwsSecurityFinding
}

func (im *importer) BatchImportFindings(_ context.Context, in *securityhub.BatchImportFindingsInput, _ ...func(*securityhub.Options)) (*securityhub.BatchImportFindingsOutput, error) {
	im.mu.Lock()
	defer im.mu.Unlock()
	for _, f := range in.Findings {
		im.calls[*f.AwsAccountId] = append(im.calls[*f.AwsAccountId], f)
	}
	return &securityhub.BatchImportFindingsOutput{FailedCount: aws.Int32(0), SuccessCount: aws.Int32(int32(len(in.Findings)))}, nil
}

// The administrator's note lands on exactly the ECS.9 findings of the
// remediated revision in its account: three of them (two pages), not the
// archived one, not another revision's, not another account's.
func TestNoteOnECS9AgainstTheContract(t *testing.T) {
	other := "arn:aws:ecs:eu-west-1:111122223333:task-definition/orders-api:2"
	fake := &contract{notes: map[string]string{}, findings: []map[string]any{
		ecs9("a", acct, src, "ACTIVE"), ecs9("b", acct, src, "ACTIVE"), ecs9("c", acct, src, "ACTIVE"),
		ecs9("archived", acct, src, "ARCHIVED"), ecs9("other-revision", acct, other, "ACTIVE"), ecs9("other-account", "444455556666", src, "ACTIVE"),
		{"Id": "not-ecs9", "ProductArn": "p", "AwsAccountId": acct, "Compliance": map[string]any{"SecurityControlId": "ECS.2"}, "RecordState": "ACTIVE",
			"Resources": []any{map[string]any{"Id": src}}},
	}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	admin := securityhub.NewFromConfig(localaws.Config(srv.URL), func(o *securityhub.Options) { o.Region = reg })
	im := &importer{calls: map[string][]types.AwsSecurityFinding{}}
	p := &Publisher{
		Import:   func(account, region string) (Importer, error) { return im, nil },
		Annotate: func(region string) (Annotator, error) { return admin, nil },
		Now:      func() time.Time { return now },
	}
	rec := history.Record{Decision: history.DecisionRemediated, Outcome: workflow.OutcomeRemediated, Account: acct, Region: reg, Family: "orders-api",
		TaskDefinitionARN: src, NewARN: "arn:aws:ecs:eu-west-1:111122223333:task-definition/orders-api:4", Time: now}
	c := history.Change{Record: rec, Before: item(history.StateNonCompliant, []reason.Code{missing}, nil, ""), After: *item(history.StateRemediated, nil, nil, "")}
	if err := p.Publish(context.Background(), []history.Change{c}); err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(func(yield func(string) bool) {
		for id := range fake.notes {
			if !yield(id) {
				return
			}
		}
	})
	if !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("noted %v, want a b c (requests %v)", got, fake.requests)
	}
	if n := fake.notes["a"]; !strings.Contains(n, "orders-api:4") || !strings.Contains(n, "ecslogfix backout --task-definition") {
		t.Errorf("note %q", n)
	}
	if len(im.calls[acct]) != 1 || *im.calls[acct][0].Id != ID(acct, reg, "orders-api", missing) || im.calls[acct][0].RecordState != types.RecordStateArchived {
		t.Errorf("imported %+v", im.calls)
	}
	// A typo in a filter name would be refused, not silently ignored as
	// moto does.
	_, err := admin.GetFindings(context.Background(), &securityhub.GetFindingsInput{Filters: &types.AwsSecurityFindingFilters{
		ProductName: []types.StringFilter{{Comparison: types.StringFilterComparisonEquals, Value: aws.String("x")}}}})
	if err == nil || !strings.Contains(err.Error(), "ProductName") {
		t.Errorf("unsupported filter: %v", err)
	}
	// A change that notes nothing calls the administrator not at all.
	before := len(fake.requests)
	c.Record.Decision, c.Record.Outcome = history.DecisionCompliant, ""
	if err := p.Publish(context.Background(), []history.Change{c}); err != nil || len(fake.requests) != before {
		t.Errorf("compliant change: %v, %d requests", err, len(fake.requests)-before)
	}
}

// Imported in moto from the account the resource lives in, then archived
// after the fix (upsert by Id).
func TestImportInMoto(t *testing.T) {
	m := localaws.Shared(t)
	client := securityhub.NewFromConfig(m.Config(), func(o *securityhub.Options) { o.Region = reg })
	ctx := context.Background()
	p := &Publisher{Import: func(account, region string) (Importer, error) { return client, nil }, Now: func() time.Time { return now }}
	account := localaws.Account
	open := history.Item{Account: account, Region: reg, Family: "moto-family", State: history.StateNonCompliant, TaskDefinitionARN: src,
		Reasons: []reason.Code{missing}, ChangedAt: now}
	if err := p.Publish(ctx, []history.Change{{Record: history.Record{TaskDefinitionARN: src, Decision: history.DecisionBlocked}, After: open}}); err != nil {
		t.Fatal(err)
	}
	fixed := open
	fixed.State, fixed.Reasons = history.StateRemediated, nil
	p.Now = func() time.Time { return now.Add(time.Hour) }
	if err := p.Publish(ctx, []history.Change{{Record: history.Record{TaskDefinitionARN: src, Decision: history.DecisionRemediated}, Before: &open, After: fixed}}); err != nil {
		t.Fatal(err)
	}
	out, err := client.GetFindings(ctx, &securityhub.GetFindingsInput{})
	if err != nil {
		t.Fatal(err)
	}
	id := ID(account, reg, "moto-family", missing)
	var found []types.AwsSecurityFinding
	for _, f := range out.Findings {
		if aws.ToString(f.Id) == id {
			found = append(found, f)
		}
	}
	if len(found) != 1 || found[0].RecordState != types.RecordStateArchived || found[0].Compliance.Status != types.ComplianceStatusPassed {
		t.Fatalf("findings with id %s: %+v", id, found)
	}
}
