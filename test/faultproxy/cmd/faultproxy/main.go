// Command faultproxy runs the fault-injecting AWS proxy in front of an
// emulator, for manual runs and for scripts:
//
//	faultproxy -upstream http://127.0.0.1:5000 -seed 1 \
//	  -rule 'ecs:RegisterTaskDefinition=throttle:0.1,concurrent:0.1' -rule '*=503:0.05,reset:0.02'
//
// It prints "faultproxy listening on URL" on stdout, serves the stats at
// URL/__faultproxy/stats and accepts new rules with PUT URL/__faultproxy/rules
// ({"rules":["spec",...]}). On SIGINT or SIGTERM it prints the stats as JSON
// and exits.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/ecslogfix/ecslogfix/test/faultproxy"
)

func main() {
	var rules []string
	upstream := flag.String("upstream", "", "emulator base URL, e.g. http://127.0.0.1:5000 (required)")
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	seed := flag.Uint64("seed", 1, "seed of the fault decisions")
	flag.Func("rule", "fault rule API=ITEM,... (repeatable; see faultproxy.ParseRule)", func(v string) error { rules = append(rules, v); return nil })
	standIns := flag.Bool("stand-ins", false, "answer as AWS where moto does not: log group deletion protection, ECS defaultLogDriverMode")
	flag.Parse()
	if err := run(*upstream, *listen, *seed, rules, *standIns); err != nil {
		fmt.Fprintln(os.Stderr, "faultproxy:", err)
		os.Exit(1)
	}
}

func run(upstream, listen string, seed uint64, specs []string, standIns bool) error {
	if upstream == "" {
		return fmt.Errorf("-upstream is required")
	}
	rules, err := faultproxy.ParseRules(specs)
	if err != nil {
		return err
	}
	srv, err := faultproxy.Start(faultproxy.Config{Upstream: upstream, Seed: seed, Rules: rules, StandIns: standIns}, listen)
	if err != nil {
		return err
	}
	fmt.Printf("faultproxy listening on %s\n", srv.URL)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	srv.Close()
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(srv.Stats())
}
