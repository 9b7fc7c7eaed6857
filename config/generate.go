package config

// docs/CONFIG.md is generated from Keys(); doc_test.go checks it is current.
//go:generate go run gen_doc.go
