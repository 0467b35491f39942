package faultproxy

import (
	"encoding/xml"
	"net/http"
	"sync"

	"github.com/ecslogfix/ecslogfix/internal/awsarn"
)

// identities maps the access keys of credentials that sts:AssumeRole
// returned through the proxy to the assumed role: its account, so that a
// Rule can target one account's calls (Rule.Account) as a service control
// policy on it would, and its session ARN, the principal ECS reports as a
// revision's registeredBy (standin.go). Static keys (the emulator's default
// account) map to nothing.
type identities struct {
	keys sync.Map // access key ID → arn:PARTITION:sts::ACCOUNT:assumed-role/NAME/SESSION
}

// assumeRoleResponse is the part of STS's AssumeRole response read here
// (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html).
type assumeRoleResponse struct {
	AccessKeyID string `xml:"AssumeRoleResult>Credentials>AccessKeyId"`
	Arn         string `xml:"AssumeRoleResult>AssumedRoleUser>Arn"` // arn:PARTITION:sts::ACCOUNT:assumed-role/NAME/SESSION
}

// serve forwards an AssumeRole call and records the credentials of its
// answer, which it leaves as it is; it reports false for any other call.
func (ids *identities) serve(x *exchange) bool {
	if x.call.API != "sts:AssumeRole" {
		return false
	}
	rec := x.record()
	var out assumeRoleResponse
	if rec.Code == http.StatusOK && xml.Unmarshal(rec.Body.Bytes(), &out) == nil && out.AccessKeyID != "" {
		if _, err := awsarn.Parse(out.Arn); err == nil {
			ids.keys.Store(out.AccessKeyID, out.Arn)
		}
	}
	x.relay(rec, nil)
	return true
}

// account is the account of key's credentials, or "" when unknown.
func (ids *identities) account(key string) string {
	a, _ := awsarn.Parse(ids.principal(key))
	return a.AccountID
}

// principal is the assumed-role session ARN of key's credentials, or ""
// when unknown.
func (ids *identities) principal(key string) string {
	by, _ := ids.keys.Load(key)
	s, _ := by.(string)
	return s
}
