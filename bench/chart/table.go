package main

import (
	"fmt"
	"io"
	"strings"
)

// writeTable writes s as a Markdown table: a row per workload and metric,
// a column per implementation, then ekka's value divided by each
// baseline's.
func writeTable(out io.Writer, s *summary) error {
	var impls []string
	for _, w := range s.workloads {
		for _, unit := range w.tableUnits() {
			impls = append(impls, w.impls(unit)...)
		}
	}
	impls = sortImpls(impls)
	var baselines []string
	hasReference := false
	for _, impl := range impls {
		if impl == reference {
			hasReference = true
		} else {
			baselines = append(baselines, impl)
		}
	}
	if !hasReference {
		baselines = nil
	}

	var b strings.Builder
	header := append([]string{"workload", "metric"}, impls...)
	for _, base := range baselines {
		header = append(header, reference+" ÷ "+base)
	}
	writeRow(&b, header)
	rule := make([]string, len(header))
	for i := range rule {
		rule[i] = "---"
		if i >= 2 {
			rule[i] = "--:" // figures align right
		}
	}
	writeRow(&b, rule)
	for _, w := range s.workloads {
		for _, unit := range w.tableUnits() {
			metric := unit
			if hint := betterHint(unit); hint != "" {
				metric += " (" + hint + ")"
			}
			row := []string{w.name, metric}
			for _, impl := range impls {
				cell := "-"
				if v, _, ok := w.value(impl, unit); ok {
					cell = formatValue(v)
				}
				row = append(row, cell)
			}
			for _, base := range baselines {
				cell := "-"
				if r, ok := w.ratio(reference, base, unit); ok {
					cell = formatRatio(r)
				}
				row = append(row, cell)
			}
			writeRow(&b, row)
		}
	}
	_, err := io.WriteString(out, b.String())
	return err
}

func writeRow(b *strings.Builder, cells []string) {
	b.WriteString("|")
	for _, c := range cells {
		fmt.Fprintf(b, " %s |", strings.ReplaceAll(c, "|", `\|`))
	}
	b.WriteString("\n")
}
