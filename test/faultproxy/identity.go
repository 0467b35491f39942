package faultproxy

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"sync"
)

// identities maps the access keys of credentials that sts:AssumeRole
// returned through the proxy to the assumed role: its account, so that a
// Rule can target one account's calls (Rule.Account) as a service control
// policy on it would, and its session ARN, the principal ECS reports as a
// revision's registeredBy (standin.go). Static keys (the emulator's default
// account) map to nothing.
type identities struct {
	mu   sync.Mutex
	keys map[string]string // access key ID → arn:PARTITION:sts::ACCOUNT:assumed-role/NAME/SESSION
}

// assumeRoleResponse is the part of STS's AssumeRole response read here
// (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html).
type assumeRoleResponse struct {
	AccessKeyID string `xml:"AssumeRoleResult>Credentials>AccessKeyId"`
	Arn         string `xml:"AssumeRoleResult>AssumedRoleUser>Arn"` // arn:PARTITION:sts::ACCOUNT:assumed-role/NAME/SESSION
}

// learn records the credentials of a successful AssumeRole response; it
// is the reverse proxy's ModifyResponse, and leaves every response as it
// is.
func (ids *identities) learn(resp *http.Response) error {
	if resp.StatusCode != http.StatusOK || resp.Request == nil || signingName(resp.Request.Header.Get("Authorization")) != "sts" {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil || !bytes.Contains(body, []byte("<AssumeRoleResponse")) {
		return err
	}
	var out assumeRoleResponse
	if xml.Unmarshal(body, &out) != nil || out.AccessKeyID == "" || len(strings.SplitN(out.Arn, ":", 6)) < 6 {
		return nil
	}
	ids.mu.Lock()
	defer ids.mu.Unlock()
	if ids.keys == nil {
		ids.keys = map[string]string{}
	}
	ids.keys[out.AccessKeyID] = out.Arn
	return nil
}

// account is the account of key's credentials, or "" when unknown.
func (ids *identities) account(key string) string {
	if parts := strings.SplitN(ids.principal(key), ":", 6); len(parts) == 6 {
		return parts[4]
	}
	return ""
}

// principal is the assumed-role session ARN of key's credentials, or ""
// when unknown.
func (ids *identities) principal(key string) string {
	ids.mu.Lock()
	defer ids.mu.Unlock()
	return ids.keys[key]
}
