package main

import (
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Layout of the chart, in SVG user units (pixels at 100 %).
const (
	chartWidth   = 900
	margin       = 16
	charWidth    = 7 // a generous estimate of one character at fontSize
	fontSize     = 12
	valueWidth   = 110 // room for the value written after a bar
	ratioWidth   = 60  // the right column of ratios
	barHeight    = 16
	barGap       = 5
	panelHeader  = 24
	panelGap     = 16
	legendSwatch = 12
	legendRow    = 20
)

// implColors gives each known implementation the same colour in every
// chart; others take fallbackColors in display order.
var implColors = map[string]string{
	"ekka":        "#1d4ed8",
	"ekka-off":    "#60a5fa",
	"ekka-auto":   "#93c5fd",
	"rawtcp":      "#6b7280",
	"netrpc":      "#d97706",
	"grpc-unary":  "#34d399",
	"grpc-stream": "#047857",
	"erlang":      "#b91c1c",
}

var fallbackColors = []string{"#7c3aed", "#db2777", "#0891b2", "#65a30d", "#9a3412", "#a16207"}

// A panel is one workload's bars.
type panel struct {
	w     *workload
	unit  string
	impls []string
}

// writeChart writes the SVG chart of s: a panel per workload that reports
// MB/s or ops/s, each scaled on its own.
func writeChart(out io.Writer, s *summary, title string) error {
	var panels []panel
	var impls []string
	for _, w := range s.workloads {
		unit, ok := w.chartUnit()
		if !ok {
			continue
		}
		p := panel{w: w, unit: unit, impls: w.impls(unit)}
		panels = append(panels, p)
		impls = append(impls, p.impls...)
	}
	if len(panels) == 0 {
		return fmt.Errorf("no workload reports MB/s or ops/s, so there is nothing to chart (-table shows every metric)")
	}
	impls = sortImpls(impls)
	colors := colorsFor(impls)

	labelWidth := 0
	for _, impl := range impls {
		labelWidth = max(labelWidth, len(impl)*charWidth)
	}
	var l layout
	l.barX = margin + labelWidth + 8
	l.width = max(chartWidth, l.barX+300+valueWidth+ratioWidth+margin)
	l.barMax = l.width - margin - ratioWidth - valueWidth - l.barX

	var b strings.Builder
	y := margin
	fmt.Fprintf(&b, "<text x=\"%d\" y=\"%d\" font-size=\"18\" font-weight=\"bold\">%s</text>\n", margin, y+16, esc(title))
	y += 24
	fmt.Fprintf(&b, "<text x=\"%d\" y=\"%d\" fill=\"#4b5563\">Median of the runs in the input. Each panel has its own scale; the right column divides each value by ekka's.</text>\n", margin, y+14)
	y += 24
	y = writeLegend(&b, impls, colors, y, l.width)
	y += 8
	for _, p := range panels {
		y = writePanel(&b, p, colors, l, y)
	}
	height := y - panelGap + margin
	width := l.width

	fmt.Fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
	fmt.Fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"%d\">\n",
		width, height, width, height, fontSize)
	fmt.Fprintf(out, "<title>%s</title>\n", esc(title))
	fmt.Fprintf(out, "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", width, height)
	_, err := io.WriteString(out, b.String()+"</svg>\n")
	return err
}

// A layout places the bars: they start at barX and the longest of a panel
// is barMax wide.
type layout struct {
	barX, barMax, width int
}

// writeLegend writes a swatch and a name per implementation, wrapping at
// the chart's width, and returns the y below it.
func writeLegend(b *strings.Builder, impls []string, colors map[string]string, y, width int) int {
	x := margin
	for _, impl := range impls {
		w := legendSwatch + 6 + len(impl)*charWidth + 18
		if x > margin && x+w > width-margin {
			x = margin
			y += legendRow
		}
		fmt.Fprintf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>\n", x, y+2, legendSwatch, legendSwatch, colors[impl])
		fmt.Fprintf(b, "<text x=\"%d\" y=\"%d\">%s</text>\n", x+legendSwatch+6, y+12, esc(impl))
		x += w
	}
	return y + legendRow
}

// writePanel writes one workload's bars and returns the y below it.
func writePanel(b *strings.Builder, p panel, colors map[string]string, l layout, y int) int {
	top := 0.0
	for _, impl := range p.impls {
		v, _, _ := p.w.value(impl, p.unit)
		top = max(top, v)
	}
	barX, ratioX := l.barX, l.width-margin
	fmt.Fprintf(b, "<text x=\"%d\" y=\"%d\"><tspan font-weight=\"bold\">%s</tspan><tspan dx=\"6\" fill=\"#4b5563\">%s, more is better</tspan></text>\n",
		margin, y+15, esc(p.w.name), esc(p.unit))
	if slices.Contains(p.impls, reference) {
		fmt.Fprintf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" fill=\"#4b5563\">vs %s</text>\n", ratioX, y+15, reference)
	}
	y += panelHeader
	barsTop := y
	for _, impl := range p.impls {
		v, n, _ := p.w.value(impl, p.unit)
		barWidth := 0.0
		if top > 0 && v > 0 {
			barWidth = max(1, float64(l.barMax)*v/top)
		}
		value := formatValue(v) + " " + p.unit
		runs := "runs"
		if n == 1 {
			runs = "run"
		}
		fmt.Fprintf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n", barX-8, y+12, esc(impl))
		fmt.Fprintf(b, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>%s: %s, median of %d %s</title></rect>\n",
			barX, y, barWidth, barHeight, colors[impl], esc(impl), esc(value), n, runs)
		fmt.Fprintf(b, "<text x=\"%.1f\" y=\"%d\">%s</text>\n", float64(barX)+barWidth+6, y+12, esc(value))
		if r, ok := p.w.ratio(impl, reference, p.unit); ok {
			weight := ""
			if impl == reference {
				weight = " font-weight=\"bold\""
			}
			fmt.Fprintf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\"%s>%s</text>\n", ratioX, y+12, weight, formatRatio(r))
		}
		y += barHeight + barGap
	}
	y -= barGap
	fmt.Fprintf(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#9ca3af\"/>\n", barX, barsTop-2, barX, y+2)
	return y + panelGap
}

// colorsFor gives each implementation its colour; impls is in display order.
func colorsFor(impls []string) map[string]string {
	colors := map[string]string{}
	next := 0
	for _, impl := range impls {
		if c, ok := implColors[impl]; ok {
			colors[impl] = c
			continue
		}
		colors[impl] = fallbackColors[next%len(fallbackColors)]
		next++
	}
	return colors
}

// esc escapes s for XML text and attribute values; characters XML cannot
// hold become U+FFFD.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	return b.String()
}
