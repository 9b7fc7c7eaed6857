package main

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// The implementation every other one is compared with.
const reference = "ekka"

// knownImpls fixes the order of bars, legend entries and table columns:
// ekka and its variants first, then the baselines from the physical limit
// to the slowest; implementations not listed come after, by name.
var knownImpls = []string{"ekka", "ekka-off", "ekka-auto", "rawtcp", "netrpc", "grpc-unary", "grpc-stream", "erlang"}

// A summary holds the median of every workload, implementation and metric.
type summary struct {
	workloads []*workload // in order of first appearance
}

// A workload is what one benchmark measures across implementations.
type workload struct {
	name    string
	units   []string // in order of first appearance
	samples map[sampleKey][]float64
}

type sampleKey struct{ impl, unit string }

// collect groups results by workload, implementation and metric. cpu,
// when not 0, keeps only the results run with that GOMAXPROCS; when it is
// 0, the results must not mix several, as their medians would mean nothing.
func collect(results []result, cpu int) (*summary, error) {
	if cpu == 0 {
		var procs []int
		for _, r := range results {
			if !slices.Contains(procs, r.procs) {
				procs = append(procs, r.procs)
			}
		}
		if len(procs) > 1 {
			slices.Sort(procs)
			return nil, fmt.Errorf("the input mixes results run with GOMAXPROCS %s; choose one with -cpu",
				strings.Trim(fmt.Sprint(procs), "[]"))
		}
	}
	s := &summary{}
	byName := map[string]*workload{}
	for _, r := range results {
		if cpu != 0 && r.procs != cpu {
			continue
		}
		i := strings.LastIndexByte(r.name, '/')
		if i < 0 {
			continue // no implementation to compare
		}
		name, impl := r.name[:i], r.name[i+1:]
		w := byName[name]
		if w == nil {
			w = &workload{name: name, samples: map[sampleKey][]float64{}}
			byName[name] = w
			s.workloads = append(s.workloads, w)
		}
		for _, m := range r.metrics {
			if !slices.Contains(w.units, m.unit) {
				w.units = append(w.units, m.unit)
			}
			k := sampleKey{impl, m.unit}
			w.samples[k] = append(w.samples[k], m.value)
		}
	}
	if len(s.workloads) == 0 {
		if cpu != 0 {
			return nil, fmt.Errorf("no benchmark results named Workload/impl run with GOMAXPROCS %d", cpu)
		}
		return nil, fmt.Errorf("no benchmark results named Workload/impl in the input")
	}
	return s, nil
}

// value returns the median of impl's values of unit and how many there were.
func (w *workload) value(impl, unit string) (median float64, n int, ok bool) {
	vs := w.samples[sampleKey{impl, unit}]
	if len(vs) == 0 {
		return 0, 0, false
	}
	return medianOf(vs), len(vs), true
}

func (w *workload) has(unit string) bool { return slices.Contains(w.units, unit) }

// impls returns the implementations that reported unit, in display order.
func (w *workload) impls(unit string) []string {
	var impls []string
	for k := range w.samples {
		if k.unit == unit {
			impls = append(impls, k.impl)
		}
	}
	return sortImpls(impls)
}

// ratio returns impl's value of unit divided by ref's.
func (w *workload) ratio(impl, ref, unit string) (float64, bool) {
	v, _, ok := w.value(impl, unit)
	r, _, refOK := w.value(ref, unit)
	if !ok || !refOK || r == 0 {
		return 0, false
	}
	return v / r, true
}

func medianOf(values []float64) float64 {
	vs := slices.Clone(values)
	slices.Sort(vs)
	mid := len(vs) / 2
	if len(vs)%2 == 1 {
		return vs[mid]
	}
	return (vs[mid-1] + vs[mid]) / 2
}

// sortImpls sorts impls in display order and drops duplicates, so callers
// can sort a union.
func sortImpls(impls []string) []string {
	slices.SortFunc(impls, func(a, b string) int {
		return cmp.Or(cmp.Compare(implRank(a), implRank(b)), strings.Compare(a, b))
	})
	return slices.Compact(impls)
}

// implRank places ekka-* variants that are not listed right after the
// listed ones, so every ekka comes before the baselines.
func implRank(impl string) int {
	if i := slices.Index(knownImpls, impl); i >= 0 {
		if i > slices.Index(knownImpls, "ekka-auto") {
			return i + 1
		}
		return i
	}
	if strings.HasPrefix(impl, reference+"-") {
		return slices.Index(knownImpls, "ekka-auto") + 1
	}
	return len(knownImpls) + 1
}

// chartUnit returns the metric the chart shows for w: MB/s when w reports
// it, else ops/s.
func (w *workload) chartUnit() (string, bool) {
	for _, u := range []string{"MB/s", "ops/s"} {
		if w.has(u) {
			return u, true
		}
	}
	return "", false
}

// standardUnits are the metrics every go test benchmark reports; they say
// little about a workload that reports its own.
var standardUnits = []string{"ns/op", "B/op", "allocs/op"}

// tableUnits returns the metrics the table shows for w, one row each:
// MB/s, ops/s, then every other reported metric in input order; the
// standard ones only when there is nothing else.
func (w *workload) tableUnits() []string {
	var units []string
	for _, u := range []string{"MB/s", "ops/s"} {
		if w.has(u) {
			units = append(units, u)
		}
	}
	for _, u := range w.units {
		if !slices.Contains(units, u) && !slices.Contains(standardUnits, u) {
			units = append(units, u)
		}
	}
	if len(units) > 0 {
		return units
	}
	for _, u := range standardUnits {
		if w.has(u) {
			units = append(units, u)
		}
	}
	return units
}
