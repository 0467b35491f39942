package plan

import (
	"fmt"
	"sort"
	"strings"
)

// Diff renders the plan as a readable, redacted unified-style diff of each
// changed or reported container's logConfiguration (in container order,
// options sorted by key), then the execution role it adds and its
// blockers. A plan with nothing to do renders as "".
func (p Plan) Diff() string {
	var b strings.Builder
	src := p.Family
	if p.Revision != 0 {
		src = fmt.Sprintf("%s:%d", p.Family, p.Revision)
	}
	for _, c := range p.Containers {
		if c.Action == ActionNone {
			continue
		}
		path := fmt.Sprintf("%s/containers/%s/logConfiguration", src, c.Name)
		fmt.Fprintf(&b, "--- a/%s\n+++ b/%s\n", path, path)
		reasons := make([]string, len(c.Reasons))
		for i, r := range c.Reasons {
			reasons[i] = string(r)
		}
		note := ""
		if c.Action == ActionReport {
			note = " unchanged: a human must act"
		}
		fmt.Fprintf(&b, "@@ %s %s%s @@\n", c.Action, strings.Join(reasons, ","), note)
		after := c.After
		if c.Action == ActionReport {
			after = c.Before
		}
		writeLines(&b, c.Before.lines(), after.lines())
	}
	if p.ExecutionRoleARN != "" {
		path := src + "/executionRoleArn"
		fmt.Fprintf(&b, "--- a/%s\n+++ b/%s\n@@ SET default execution role (awslogs needs one on Fargate/EXTERNAL) @@\n-(none)\n+%s\n", path, path, p.ExecutionRoleARN)
	}
	for _, bl := range p.Blockers {
		fmt.Fprintf(&b, "# BLOCKED %s: %s\n", bl.Code, bl.Message)
	}
	return b.String()
}

// Summary says in a few words what was read of the group and what applying
// the plan would do to it, for dry runs, reports and notifications.
func (g LogGroup) Summary() string {
	settings := fmt.Sprintf("retention %s", retentionText(g.RetentionDays))
	if g.KMSKeyARN != "" {
		settings += ", KMS key " + g.KMSKeyARN
	}
	if g.DeletionProtection {
		settings += ", deletion protection"
	}
	o := g.Observed
	switch {
	case o == nil && g.OutsidePatterns:
		return "not read; outside the policy's logGroupPatterns, so ecslogfix would not create it"
	case o == nil:
		return "would be created if missing (" + settings + ")"
	case !o.Exists && g.Create:
		return "missing: would be created (" + settings + ")"
	case !o.Exists && g.DriverCreates:
		return "missing: awslogs-create-group creates it when a task starts (it never expires)"
	case !o.Exists:
		return "missing, and outside the policy's logGroupPatterns: a human must create it"
	case g.SetRetention > 0:
		return fmt.Sprintf("exists (retention %s): its retention would be set to %s", retentionText(o.RetentionDays), retentionText(g.SetRetention))
	}
	return fmt.Sprintf("exists (retention %s)", retentionText(o.RetentionDays))
}

func retentionText(days int32) string {
	if days == 0 {
		return "never expires"
	}
	return fmt.Sprintf("%d days", days)
}

// writeLines merges two key-sorted line lists into unified-diff lines.
func writeLines(b *strings.Builder, before, after []diffLine) {
	if before == nil {
		b.WriteString("-(none)\n")
	}
	byKey := func(ls []diffLine) map[string]string {
		m := make(map[string]string, len(ls))
		for _, l := range ls {
			m[l.key] = l.value
		}
		return m
	}
	bm, am := byKey(before), byKey(after)
	var keys []string
	seen := map[string]bool{}
	for _, ls := range [][]diffLine{before, after} {
		for _, l := range ls {
			if !seen[l.key] {
				seen[l.key] = true
				keys = append(keys, l.key)
			}
		}
	}
	sort.SliceStable(keys, func(i, j int) bool { return lineOrder(keys[i]) < lineOrder(keys[j]) })
	for _, k := range keys {
		bv, inB := bm[k]
		av, inA := am[k]
		switch {
		case inB && inA && bv == av:
			fmt.Fprintf(b, " %s\n", diffLine{k, bv})
		default:
			if inB {
				fmt.Fprintf(b, "-%s\n", diffLine{k, bv})
			}
			if inA {
				fmt.Fprintf(b, "+%s\n", diffLine{k, av})
			}
		}
	}
}

// lineOrder sorts logDriver first, then options, then secret options, each
// by key.
func lineOrder(k string) string {
	switch {
	case k == "logDriver":
		return "0"
	case strings.HasPrefix(k, "options."):
		return "1" + k
	default:
		return "2" + k
	}
}
