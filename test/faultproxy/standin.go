package faultproxy

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
)

// Stand-ins: where moto 5.2.1 accepts what AWS refuses, or lacks what AWS
// has, the proxy answers as AWS does (Config.StandIns). Each is documented
// in docs/reliability.md and test/e2e/README.md.
//
//   - CloudWatch Logs deletion protection: moto ignores
//     deletionProtectionEnabled on CreateLogGroup, has no
//     PutLogGroupDeletionProtection, and deletes a protected group. The
//     proxy remembers which groups are protected, answers
//     PutLogGroupDeletionProtection itself, adds deletionProtectionEnabled
//     to DescribeLogGroups, and refuses DeleteLogGroup on a protected group
//     with AWS's ValidationException ("Protecting log groups from
//     deletion", CloudWatch Logs User Guide).
//   - ECS's defaultLogDriverMode account setting: moto refuses the name in
//     ListAccountSettings (UnknownAccountSettingException) and stores it
//     without effect. The proxy keeps it per account and region
//     (PutAccountSettingDefault, PutAccountSetting, DeleteAccountSetting)
//     and answers ListAccountSettings for it.
//   - ECS's registeredBy: moto drops it. ECS reports the principal that
//     registered a revision ("DescribeTaskDefinition", ECS API reference:
//     registeredBy) on RegisterTaskDefinition, DescribeTaskDefinition and
//     DeregisterTaskDefinition. The proxy maps the SigV4 access key of each
//     RegisterTaskDefinition it forwards to its principal (the assumed-role
//     session of credentials AssumeRole returned through the proxy,
//     identity.go, else moto's own GetCallerIdentity for the key) and adds
//     it to the revision in those answers. A revision registered past the
//     proxy has none, as when ECS does not report it.

// DeletionProtectionMessage is CloudWatch Logs' answer to DeleteLogGroup on
// a protected group (a ValidationException).
const DeletionProtectionMessage = "Cannot delete log group with deletion protection enabled. Disable deletion protection first."

// settingLogDriverMode is the ECS account setting the proxy stands in for.
const settingLogDriverMode = "defaultLogDriverMode"

// standIns holds the state the proxy keeps in moto's place, per caller
// scope (region and access key: moto maps access keys to accounts).
type standIns struct {
	mu        sync.Mutex
	protected map[string]bool   // scope + "\x00" + log group name
	modes     map[string]string // scope → defaultLogDriverMode
	// registrants maps a task definition revision's ARN to the
	// principal that registered it through the proxy.
	registrants map[string]string
}

func newStandIns() *standIns {
	return &standIns{protected: map[string]bool{}, modes: map[string]string{}, registrants: map[string]string{}}
}

// serve answers call when a stand-in covers it, and reports whether it did;
// otherwise the caller forwards the request.
func (s *standIns) serve(p *Proxy, call Call, w http.ResponseWriter, r *http.Request) bool {
	switch call.API {
	case "logs:CreateLogGroup", "logs:PutLogGroupDeletionProtection", "logs:DescribeLogGroups", "logs:DeleteLogGroup",
		"ecs:ListAccountSettings", "ecs:PutAccountSettingDefault", "ecs:PutAccountSetting", "ecs:DeleteAccountSetting",
		"ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition", "ecs:DeregisterTaskDefinition":
	default:
		return false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return true
	}
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	var in struct {
		LogGroupName              string `json:"logGroupName"`
		LogGroupIdentifier        string `json:"logGroupIdentifier"`
		DeletionProtectionEnabled *bool  `json:"deletionProtectionEnabled"`
		Name                      string `json:"name"`
		Value                     string `json:"value"`
		TaskDefinition            string `json:"taskDefinition"`
	}
	_ = json.Unmarshal(body, &in) // a malformed body is moto's to answer
	// The caller's scope: its SigV4 credential's region and access key.
	sc := call.Region + "/" + call.AccessKey
	switch call.API {
	case "logs:CreateLogGroup":
		rec := forward(p, r)
		if rec.Code == http.StatusOK && in.DeletionProtectionEnabled != nil && *in.DeletionProtectionEnabled {
			s.setProtected(sc, in.LogGroupName, true)
		}
		copyResponse(w, rec, nil)
	case "logs:PutLogGroupDeletionProtection":
		if in.DeletionProtectionEnabled == nil || in.LogGroupIdentifier == "" {
			writeError(w, call, http.StatusBadRequest, "InvalidParameterException", "logGroupIdentifier and deletionProtectionEnabled are required")
			return true
		}
		s.setProtected(sc, groupName(in.LogGroupIdentifier), *in.DeletionProtectionEnabled)
		w.Header().Set("Content-Type", call.ContentType)
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("{}"))
	case "logs:DescribeLogGroups":
		rec := forward(p, r)
		copyResponse(w, rec, func(out map[string]any) {
			groups, _ := out["logGroups"].([]any)
			for _, g := range groups {
				if m, ok := g.(map[string]any); ok {
					name, _ := m["logGroupName"].(string)
					m["deletionProtectionEnabled"] = s.isProtected(sc, name)
				}
			}
		})
	case "logs:DeleteLogGroup":
		if s.isProtected(sc, in.LogGroupName) {
			writeError(w, call, http.StatusBadRequest, "ValidationException", DeletionProtectionMessage)
			return true
		}
		rec := forward(p, r)
		if rec.Code == http.StatusOK {
			s.setProtected(sc, in.LogGroupName, false)
		}
		copyResponse(w, rec, nil)
	case "ecs:ListAccountSettings":
		if in.Name != settingLogDriverMode {
			return forwardTo(p, w, r)
		}
		settings := []any{}
		if v := s.mode(sc); v != "" {
			settings = append(settings, map[string]any{"name": settingLogDriverMode, "value": v, "type": "user"})
		}
		writeValue(w, call, map[string]any{"settings": settings})
	case "ecs:PutAccountSettingDefault", "ecs:PutAccountSetting":
		if in.Name != settingLogDriverMode {
			return forwardTo(p, w, r)
		}
		if in.Value != "blocking" && in.Value != "non-blocking" {
			writeError(w, call, http.StatusBadRequest, "InvalidParameterException", fmt.Sprintf("Invalid value %q for %s: blocking or non-blocking", in.Value, settingLogDriverMode))
			return true
		}
		s.setMode(sc, in.Value)
		writeValue(w, call, map[string]any{"setting": map[string]any{"name": settingLogDriverMode, "value": in.Value, "type": "user"}})
	case "ecs:DescribeTaskDefinition":
		latestActive(p, call, w, r, body, in.TaskDefinition, s.addRegistrant)
	case "ecs:RegisterTaskDefinition":
		rec := forward(p, r)
		copyResponse(w, rec, func(out map[string]any) {
			td, _ := out["taskDefinition"].(map[string]any)
			if arn, _ := td["taskDefinitionArn"].(string); arn != "" {
				if by := p.principal(r, call.AccessKey); by != "" {
					s.setRegistrant(arn, by)
				}
			}
			s.addRegistrant(out)
		})
	case "ecs:DeregisterTaskDefinition":
		copyResponse(w, forward(p, r), s.addRegistrant)
	case "ecs:DeleteAccountSetting":
		if in.Name != settingLogDriverMode {
			return forwardTo(p, w, r)
		}
		s.setMode(sc, "")
		writeValue(w, call, map[string]any{"setting": map[string]any{"name": settingLogDriverMode}})
	}
	return true
}

// latestActive answers DescribeTaskDefinition of a family (no revision)
// as ECS does, with the family's latest ACTIVE revision ("If a revision
// isn't specified, the latest ACTIVE revision is used", ECS API reference);
// moto 5.2.1 answers the newest revision of any status. Other references
// go to moto unchanged. Either answer is edited by edit.
func latestActive(p *Proxy, call Call, w http.ResponseWriter, r *http.Request, body []byte, ref string, edit func(map[string]any)) {
	family := ref[strings.LastIndex(ref, "/")+1:]
	rec := forward(p, r)
	var out struct {
		TaskDefinition struct {
			Status string `json:"status"`
		} `json:"taskDefinition"`
	}
	if strings.Contains(family, ":") || rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &out) != nil || out.TaskDefinition.Status == "ACTIVE" {
		copyResponse(w, rec, edit)
		return
	}
	list, _ := json.Marshal(map[string]any{"familyPrefix": family, "status": "ACTIVE"})
	code, b, err := p.upstreamCall(r, "ListTaskDefinitions", list)
	var arns struct {
		TaskDefinitionArns []string `json:"taskDefinitionArns"`
	}
	if err != nil || code != http.StatusOK || json.Unmarshal(b, &arns) != nil {
		writeError(w, call, http.StatusInternalServerError, "ServerException", "stand-in: list the family's ACTIVE revisions failed")
		return
	}
	best, rev := "", 0
	for _, a := range arns.TaskDefinitionArns {
		f, n, _ := strings.Cut(a[strings.LastIndex(a, "/")+1:], ":")
		if k, err := strconv.Atoi(n); err == nil && f == family && k > rev {
			best, rev = a, k
		}
	}
	if best == "" {
		writeError(w, call, http.StatusBadRequest, "ClientException", "Unable to describe task definition.")
		return
	}
	var req map[string]any
	_ = json.Unmarshal(body, &req)
	req["taskDefinition"] = best
	again, _ := json.Marshal(req)
	code, b, err = p.upstreamCall(r, "DescribeTaskDefinition", again)
	if err != nil {
		writeError(w, call, http.StatusInternalServerError, "ServerException", "stand-in: describe "+best+" failed")
		return
	}
	var answer map[string]any
	if code == http.StatusOK && json.Unmarshal(b, &answer) == nil {
		edit(answer)
		b, _ = json.Marshal(answer)
	}
	writeJSON(w, call, code, b)
}

// addRegistrant adds registeredBy to the task definition of an ECS
// answer when the proxy saw who registered it.
func (s *standIns) addRegistrant(out map[string]any) {
	td, _ := out["taskDefinition"].(map[string]any)
	arn, _ := td["taskDefinitionArn"].(string)
	s.mu.Lock()
	defer s.mu.Unlock()
	if by := s.registrants[arn]; by != "" {
		td["registeredBy"] = by
	}
}

func (s *standIns) setRegistrant(arn, by string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.registrants[arn] = by
}

// principal is the ARN of the caller whose access key signed r: an
// assumed-role session the proxy saw created, else what moto's
// GetCallerIdentity answers for the key (moto does not check signatures,
// so r's credential scope, re-scoped to STS, is enough); "" when neither
// says.
func (p *Proxy) principal(r *http.Request, key string) string {
	if by := p.identities.principal(key); by != "" {
		return by
	}
	auth := r.Header.Get("Authorization")
	parts := credentialScope(auth)
	if parts == nil {
		return ""
	}
	scope := strings.Join(parts[:5], "/")
	parts[3] = "sts"
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, p.upstream.String()+"/",
		strings.NewReader("Action=GetCallerIdentity&Version=2011-06-15"))
	if err != nil {
		return ""
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", strings.Replace(auth, scope, strings.Join(parts[:5], "/"), 1))
	if tok := r.Header.Get("X-Amz-Security-Token"); tok != "" {
		req.Header.Set("X-Amz-Security-Token", tok)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var out struct {
		Arn string `xml:"GetCallerIdentityResult>Arn"`
	}
	if resp.StatusCode != http.StatusOK || xml.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&out) != nil {
		return ""
	}
	return out.Arn
}

// groupName is a log group's name from its name or ARN
// ("arn:aws:logs:REGION:ACCOUNT:log-group:NAME", optionally ":*").
func groupName(identifier string) string {
	if _, name, ok := strings.Cut(identifier, ":log-group:"); ok {
		return strings.TrimSuffix(name, ":*")
	}
	return identifier
}

func (s *standIns) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.protected, s.modes, s.registrants = map[string]bool{}, map[string]string{}, map[string]string{}
}

func (s *standIns) setProtected(sc, name string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on {
		s.protected[sc+"\x00"+name] = true
	} else {
		delete(s.protected, sc+"\x00"+name)
	}
}

func (s *standIns) isProtected(sc, name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.protected[sc+"\x00"+name]
}

func (s *standIns) setMode(sc, v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v == "" {
		delete(s.modes, sc)
	} else {
		s.modes[sc] = v
	}
}

func (s *standIns) mode(sc string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.modes[sc]
}

// forward sends r to the upstream and records the answer.
func forward(p *Proxy, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	p.proxy.ServeHTTP(rec, r)
	return rec
}

func forwardTo(p *Proxy, w http.ResponseWriter, r *http.Request) bool {
	p.proxy.ServeHTTP(w, r)
	return true
}

// copyResponse writes the recorded answer, a successful JSON body edited
// by edit first.
func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder, edit func(map[string]any)) {
	body := rec.Body.Bytes()
	if edit != nil && rec.Code == http.StatusOK {
		var out map[string]any
		if json.Unmarshal(body, &out) == nil {
			edit(out)
			if b, err := json.Marshal(out); err == nil {
				body = b
			}
		}
	}
	for k, vs := range rec.Header() {
		if k == "Content-Length" {
			continue
		}
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(rec.Code)
	w.Write(body)
}

// writeValue answers 200 with v as the call's JSON.
func writeValue(w http.ResponseWriter, call Call, v any) {
	b, _ := json.Marshal(v)
	writeJSON(w, call, http.StatusOK, b)
}
