package check

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/ecslogfix/ecslogfix/internal/escape"
	"github.com/ecslogfix/ecslogfix/internal/policy/reason"
)

// SARIF 2.1.0 (OASIS), as GitHub code scanning reads it: one rule per
// reason code, plus one for unresolved values and one for unreadable
// input; one result per finding, located at the file and line of the
// container (or value) and named by the resource as a logical location.
// Only the documented fields are written; the tests validate the output
// against the published schema.

// Rule IDs beside the reason codes.
const (
	RuleUnresolved = "UNRESOLVED_VALUE"
	RuleInputError = "UNREADABLE_INPUT"
)

const sarifSchema = "https://json.schemastore.org/sarif-2.1.0.json"

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool             sarifTool         `json:"tool"`
	Language         string            `json:"language"`
	NewlineSequences []string          `json:"newlineSequences"`
	Invocations      []sarifInvocation `json:"invocations"`
	Results          []sarifResult     `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	Language       string      `json:"language"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      sarifText      `json:"fullDescription"`
	Help                 sarifHelp      `json:"help"`
	DefaultConfiguration sarifRuleLevel `json:"defaultConfiguration"`
	Properties           sarifRuleProps `json:"properties"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifHelp struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown"`
}

type sarifRuleLevel struct {
	Level string `json:"level"`
}

type sarifRuleProps struct {
	Tags []string `json:"tags"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool `json:"executionSuccessful"`
}

type sarifResult struct {
	RuleID       string             `json:"ruleId"`
	RuleIndex    int                `json:"ruleIndex"`
	Level        string             `json:"level"`
	Message      sarifText          `json:"message"`
	Locations    []sarifLocation    `json:"locations"`
	Suppressions []sarifSuppression `json:"suppressions,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical     `json:"physicalLocation"`
	LogicalLocations []sarifLogicalLoc `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifLogicalLoc struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Justification string `json:"justification"`
}

// rules is every rule, in a stable order: the reason codes, then ours.
func rules() []sarifRule {
	var out []sarifRule
	for _, r := range reason.All() {
		out = append(out, rule(string(r), r.Summary(), r.Help(), "error"))
	}
	out = append(out,
		rule(RuleUnresolved, "a value the input does not know decides compliance",
			"The value is an intrinsic function or is known only after apply, and the task definition is compliant for some of its values only. Make the value a literal, or make sure it resolves as the result message says.", "warning"),
		rule(RuleInputError, "the input could not be read",
			"The file is not valid JSON or YAML, is larger than the limit, or is none of the formats ecslogfix check reads. The result message names the position and the problem.", "error"),
	)
	return out
}

func rule(id, summary, help, level string) sarifRule {
	return sarifRule{
		ID:                   id,
		Name:                 ruleName(id),
		ShortDescription:     sarifText{Text: summary},
		FullDescription:      sarifText{Text: summary + "."},
		Help:                 sarifHelp{Text: help, Markdown: "**" + id + "**: " + help},
		DefaultConfiguration: sarifRuleLevel{Level: level},
		Properties:           sarifRuleProps{Tags: []string{"ecs", "logging", "cloudwatch-logs"}},
	}
}

// ruleName turns MISSING_AWSLOGS_GROUP into MissingAwslogsGroup.
func ruleName(id string) string {
	var b strings.Builder
	for _, w := range strings.Split(strings.ToLower(id), "_") {
		if w != "" {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}

// WriteSARIF writes reports as one SARIF 2.1.0 log. version is ecslogfix's.
func WriteSARIF(w io.Writer, reports []Report, version string) error {
	rs := rules()
	idx := map[string]int{}
	for i, r := range rs {
		idx[r.ID] = i
	}
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{Name: "ecslogfix", Version: version, Language: "en-US",
			InformationURI: "https://github.com/ecslogfix/ecslogfix", Rules: rs}},
		// The defaults SARIF defines, written out: readers that fill in
		// absent fields with zero values otherwise fail the schema.
		Language:         "en-US",
		NewlineSequences: []string{"\r\n", "\n"},
		Invocations:      []sarifInvocation{{ExecutionSuccessful: true}},
		Results:          []sarifResult{},
	}
	add := func(id, level, msg string, loc sarifLocation, exempt bool) {
		res := sarifResult{RuleID: id, RuleIndex: idx[id], Level: level, Message: sarifText{Text: msg}, Locations: []sarifLocation{loc}}
		if exempt {
			res.Suppressions = []sarifSuppression{{Kind: "inSource", Justification: "exempt by the policy's exemption tag"}}
		}
		run.Results = append(run.Results, res)
	}
	for _, r := range reports {
		if r.Error != "" {
			run.Invocations[0].ExecutionSuccessful = false
			add(RuleInputError, "error", "cannot read "+escape.Text(DisplayName(r.File))+": "+escape.Text(r.Error), sarifLocationOf(r, r.Line, ""), false)
			continue
		}
		for _, u := range r.Unresolved {
			add(RuleUnresolved, "warning", unresolvedMessage(r, "", u), sarifLocationOf(r, u.Line, ""), r.Exempt)
		}
		for _, c := range r.Containers {
			for _, reason := range c.Reasons {
				add(string(reason), "error", findingMessage(r, c, reason), sarifLocationOf(r, c.Line, c.Name), r.Exempt)
			}
			if c.Verdict == Unresolved {
				for _, u := range c.Unresolved {
					add(RuleUnresolved, "warning", unresolvedMessage(r, c.Name, u), sarifLocationOf(r, u.Line, c.Name), r.Exempt)
				}
			}
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Schema: sarifSchema, Version: "2.1.0", Runs: []sarifRun{run}})
}

// what names the task definition in a message.
func what(r Report) string {
	s := r.Resource
	if s == "" {
		s = r.Family
	}
	if s == "" {
		return "the task definition"
	}
	return escape.Text(s)
}

func findingMessage(r Report, c Container, reason reason.Code) string {
	return fmt.Sprintf("Container %s in %s: %s (%s). %s", quoted(c.Name), what(r), reason.Summary(), reason, reason.Help())
}

func unresolvedMessage(r Report, container string, u Value) string {
	in := what(r)
	if container != "" {
		in = fmt.Sprintf("container %s in %s", quoted(container), in)
	}
	return fmt.Sprintf("In %s, %s is %s: %s.", in, escape.Text(u.Field), escape.Text(u.Expr), u.CompliantWhen)
}

// quoted shows an input string in quotes, escaped.
func quoted(s string) string { return `"` + escape.Text(s) + `"` }

func sarifLocationOf(r Report, line int, container string) sarifLocation {
	loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: artifact(r.File)}}
	if line > 0 {
		loc.PhysicalLocation.Region = &sarifRegion{StartLine: line}
	}
	name := r.Resource
	if name == "" {
		name = r.Family
	}
	if name != "" {
		fq := name
		if container != "" {
			fq += "/" + container
		}
		loc.LogicalLocations = []sarifLogicalLoc{{Name: escape.Text(name), FullyQualifiedName: escape.Text(fq), Kind: "resource"}}
	}
	return loc
}

// artifact turns a path into a URI: relative to the source root when the
// path is relative (what code scanning matches against the repository),
// a file URI when it is absolute.
func artifact(file string) sarifArtifact {
	if file == "-" {
		return sarifArtifact{URI: "stdin"}
	}
	p := filepath.ToSlash(file)
	if filepath.IsAbs(file) {
		return sarifArtifact{URI: (&url.URL{Scheme: "file", Path: p}).String()}
	}
	uri := (&url.URL{Path: strings.TrimPrefix(p, "./")}).EscapedPath()
	if first, _, _ := strings.Cut(uri, "/"); strings.Contains(first, ":") {
		uri = "./" + uri // not a scheme
	}
	return sarifArtifact{URI: uri, URIBaseID: "%SRCROOT%"}
}
