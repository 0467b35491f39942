package policy

import (
	"time"

	"github.com/ecslogfix/ecslogfix/internal/policy/exemption"
)

// The exemption rules are package exemption's; the types a Policy and an
// Evaluation hold are named here too (as package os names io/fs's types).
type (
	Tag           = exemption.Tag
	Exemptions    = exemption.Exemptions
	Scope         = exemption.Scope
	RegisterEntry = exemption.RegisterEntry
	Exemption     = exemption.Exemption
	ExemptionNote = exemption.Note
	Subject       = exemption.Subject
)

// Exemption sources and the date layout.
const (
	SourceTag      = exemption.SourceTag
	SourceRegister = exemption.SourceRegister
	DateLayout     = exemption.DateLayout
)

// Day is t's UTC date as written in exemptions.
func Day(t time.Time) string { return exemption.Day(t) }
