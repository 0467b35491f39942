// Package security holds the security scenarios: secret leakage
// through the whole local pipeline (the synthesized stack on moto, the
// real bootstraps under the Lambda emulator), and cross-account refusal
// and trust in organization mode. See docs/reliability.md.
package security
