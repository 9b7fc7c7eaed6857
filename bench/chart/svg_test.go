package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"strings"
	"testing"
)

// svgDoc is the part of the chart the tests look at.
type svgDoc struct {
	XMLName xml.Name `xml:"http://www.w3.org/2000/svg svg"`
	Rects   []struct {
		Width float64 `xml:"width,attr"`
		Title string  `xml:"title"`
	} `xml:"rect"`
	Texts []struct {
		Text   string   `xml:",chardata"`
		Tspans []string `xml:"tspan"`
	} `xml:"text"`
}

func chartOf(t *testing.T, input string) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := writeChart(&out, mustCollect(t, input, 0), "ekka-mesh <&> baselines"); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// decodeChart checks that chart is well-formed XML and returns its parts.
func decodeChart(t *testing.T, chart []byte) svgDoc {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(chart))
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("chart is not well-formed XML: %v\n%s", err, chart)
		}
	}
	var doc svgDoc
	if err := xml.Unmarshal(chart, &doc); err != nil {
		t.Fatalf("chart: %v", err)
	}
	return doc
}

func sampleInput(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/bench.txt")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// bars returns each bar's width by its tooltip's "impl: value" start.
func bars(doc svgDoc) map[string]float64 {
	widths := map[string]float64{}
	for _, r := range doc.Rects {
		if name, _, ok := strings.Cut(r.Title, ","); ok {
			widths[name] = r.Width
		}
	}
	return widths
}

func TestChartIsValidSVG(t *testing.T) {
	doc := decodeChart(t, chartOf(t, sampleInput(t)))
	// Three panels with 6, 3 and 5 bars.
	if n := len(bars(doc)); n != 14 {
		t.Errorf("%d bars, want 14", n)
	}
}

func TestChartIsDeterministic(t *testing.T) {
	input := sampleInput(t)
	first := chartOf(t, input)
	for range 20 {
		if again := chartOf(t, input); !bytes.Equal(first, again) {
			t.Fatal("the same input gave two different charts")
		}
	}
}

func TestChartPanelsAndLabels(t *testing.T) {
	doc := decodeChart(t, chartOf(t, sampleInput(t)))
	var texts []string
	for _, x := range doc.Texts {
		texts = append(texts, x.Text+strings.Join(x.Tspans, " "))
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{
		"ekka-mesh <&> baselines", // escaped in the file, intact once parsed
		"CallSeq64 ops/s, more is better",
		"Cast64 ops/s, more is better",
		"BulkCast64K MB/s, more is better", // MB/s wins over ops/s
		"2710 MB/s", "7.23x",               // erlang's value and its ratio to ekka
		"375 MB/s", "1.00x",
		"14.0k ops/s", "0.74x", // CallSeq64: erlang 10.3k against ekka 14.0k
		"ekka-off", "ekka-auto", "grpc-stream", // legend and labels
	} {
		if !strings.Contains(all, want) {
			t.Errorf("chart text lacks %q", want)
		}
	}
	for _, left := range []string{"HeadOfLine", "IdleLink", "IdleCluster40"} {
		if strings.Contains(all, left) {
			t.Errorf("chart shows %s, which reports neither MB/s nor ops/s", left)
		}
	}
}

func TestChartScalesEachPanelOnItsOwn(t *testing.T) {
	widths := bars(decodeChart(t, chartOf(t, sampleInput(t))))
	// rawtcp is the fastest of every panel, at 21.5k ops/s, 41.0M ops/s
	// and 3300 MB/s: each of its bars is the longest, and all as long.
	longest := widths["rawtcp: 21.5k ops/s"]
	for _, name := range []string{"rawtcp: 41.0M ops/s", "rawtcp: 3300 MB/s"} {
		if widths[name] != longest {
			t.Errorf("bar %q is %v wide, want %v like rawtcp's in the first panel", name, widths[name], longest)
		}
	}
	for name, w := range widths {
		if w > longest || w <= 0 {
			t.Errorf("bar %q is %v wide, want more than 0 and at most %v", name, w, longest)
		}
	}
	// Erlang's 240k casts/s are 1/171 of raw TCP's 41M, but still drawn.
	want := longest * 240e3 / 41e6
	if w := widths["erlang: 240k ops/s"]; math.Abs(w-want) > 0.05 {
		t.Errorf("erlang's cast bar is %v wide, want %.1f", w, want)
	}
}

func TestChartEscapesNames(t *testing.T) {
	doc := decodeChart(t, chartOf(t, "BenchmarkA<&>\"'/ek<ka>-2 1 100 ns/op 5 ops/s\n"))
	if _, ok := bars(doc)["ek<ka>: 5.00 ops/s"]; !ok {
		t.Errorf("bars %v, want one for ek<ka>", bars(doc))
	}
}

func TestChartWithoutEkkaHasNoRatios(t *testing.T) {
	chart := string(chartOf(t, "BenchmarkCall/erlang-2 1 100 ns/op 10 ops/s\nBenchmarkCall/rawtcp-2 1 100 ns/op 20 ops/s\n"))
	if strings.Contains(chart, "vs ekka") || strings.Contains(chart, "x</text>") {
		t.Errorf("chart without ekka shows ratios to it:\n%s", chart)
	}
}

func TestChartNeedsThroughput(t *testing.T) {
	err := writeChart(io.Discard, mustCollect(t, "BenchmarkIdleLink/ekka-2 1 100 ns/op 41000 bytes/link\n", 0), "t")
	if err == nil {
		t.Error("a chart of nothing gave no error")
	}
}
