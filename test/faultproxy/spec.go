package faultproxy

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseRule parses the command-line form of a Rule:
//
//	API[@REGION]=ITEM[,ITEM...]
//
// where API is "service:Operation", "service:*" or "*", REGION limits the
// rule to requests signed for that region, and an ITEM is
//
//	throttle:RATE | concurrent:RATE | 500:RATE | 503:RATE | reset:RATE | denied:RATE
//	applied-500:RATE | applied-reset:RATE | applied-hang:RATE (after the call took effect)
//	client-error:RATE                (its message is Rule.Message, set in Go)
//	latency:DURATION[@RATE]          e.g. latency:200ms@0.3
//	script:KIND[|KIND...]            e.g. script:throttle|none|concurrent
//
// Example: "ecs:RegisterTaskDefinition=throttle:0.1,concurrent:0.1,500:0.05,latency:50ms@0.2".
func ParseRule(spec string) (Rule, error) {
	api, items, ok := strings.Cut(spec, "=")
	if !ok || strings.TrimSpace(api) == "" {
		return Rule{}, fmt.Errorf("faultproxy: rule %q: want API=ITEM[,ITEM]", spec)
	}
	api, region, _ := strings.Cut(strings.TrimSpace(api), "@")
	r := Rule{API: api, Region: region, Rates: map[Kind]float64{}}
	for _, item := range strings.Split(items, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		key, val, ok := strings.Cut(item, ":")
		if !ok {
			return Rule{}, fmt.Errorf("faultproxy: rule %q: item %q: want KEY:VALUE", spec, item)
		}
		var err error
		switch key {
		case "latency":
			dur, rate, hasRate := strings.Cut(val, "@")
			if r.Latency, err = time.ParseDuration(dur); err == nil && hasRate {
				r.LatencyRate, err = strconv.ParseFloat(rate, 64)
			}
		case "script":
			for _, k := range strings.Split(val, "|") {
				if k == "none" {
					k = string(None)
				}
				r.Script = append(r.Script, Kind(k))
			}
		default:
			r.Rates[Kind(key)], err = strconv.ParseFloat(val, 64)
		}
		if err != nil {
			return Rule{}, fmt.Errorf("faultproxy: rule %q: %s: %w", spec, key, err)
		}
	}
	if err := r.validate(); err != nil {
		return Rule{}, err
	}
	return r, nil
}
