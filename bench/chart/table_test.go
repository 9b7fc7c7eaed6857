package main

import (
	"strings"
	"testing"
)

func TestTable(t *testing.T) {
	input := callSeqLine + "\n" + bulkCastLine + `
BenchmarkCallSeq64/erlang-2          	       1	1000000000 ns/op	     10300 ops/s	        95.0 p50-us	       180.0 p99-us
BenchmarkCallSeq64/grpc-unary-2      	       1	1000000000 ns/op	      6900 ops/s	       140.2 p50-us	       290.5 p99-us
BenchmarkBulkCast64K/ekka-2          	       1	1000000000 ns/op	       375 MB/s	      5720 ops/s
BenchmarkHead|Line/ekka-2            	       1	1000000000 ns/op	         2.300 ratio
BenchmarkAllocs/ekka-2               	  500000	      2400 ns/op	        48 B/op	         2 allocs/op
`
	var out strings.Builder
	if err := writeTable(&out, mustCollect(t, input, 0)); err != nil {
		t.Fatal(err)
	}
	want := `| workload | metric | ekka | grpc-unary | erlang | ekka ÷ grpc-unary | ekka ÷ erlang |
| --- | --- | --: | --: | --: | --: | --: |
| CallSeq64 | ops/s (more is better) | 14.0k | 6900 | 10.3k | 2.03x | 1.36x |
| CallSeq64 | p50-us (less is better) | 61.2 | 140 | 95.0 | 0.44x | 0.64x |
| CallSeq64 | p99-us (less is better) | 120 | 290 | 180 | 0.41x | 0.67x |
| BulkCast64K | MB/s (more is better) | 375 | - | 2710 | - | 0.14x |
| BulkCast64K | ops/s (more is better) | 5720 | - | 41.4k | - | 0.14x |
| Head\|Line | ratio | 2.30 | - | - | - | - |
| Allocs | ns/op (less is better) | 2400 | - | - | - | - |
| Allocs | B/op (less is better) | 48.0 | - | - | - | - |
| Allocs | allocs/op (less is better) | 2.00 | - | - | - | - |
`
	if got := out.String(); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}

func TestTableWithoutEkkaHasNoRatios(t *testing.T) {
	var out strings.Builder
	if err := writeTable(&out, mustCollect(t, bulkCastLine+"\n", 0)); err != nil {
		t.Fatal(err)
	}
	want := `| workload | metric | erlang |
| --- | --- | --: |
| BulkCast64K | MB/s (more is better) | 2710 |
| BulkCast64K | ops/s (more is better) | 41.4k |
`
	if got := out.String(); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}
