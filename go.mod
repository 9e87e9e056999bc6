module github.com/ternmq/mqtt

// Go 1.22: range over integers and per-iteration loop variables;
// unsafe.String (1.20) and the min/max builtins (1.21) are used too.
go 1.22
