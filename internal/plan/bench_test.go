package plan

import (
	"testing"

	"github.com/ecslogfix/ecslogfix/internal/policy"
)

// BenchmarkBuild plans a realistic three-container Fargate task definition
// (two compliant containers, one sidecar without logConfiguration),
// including the deep copy and the register-request size check.
func BenchmarkBuild(b *testing.B) {
	td, tags := loadFixture(b, "td02-one-of-three-missing")
	p := policy.Default()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(td, tags, p, Context{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvaluate evaluates the same task definition.
func BenchmarkEvaluate(b *testing.B) {
	td, tags := loadFixture(b, "td02-one-of-three-missing")
	p := policy.Default()
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Evaluate(td, tags)
	}
}
