module github.com/ternmq/mqtt/benchmarks

go 1.24.0

require (
	github.com/eclipse/paho.golang v0.23.0
	github.com/eclipse/paho.mqtt.golang v1.5.1
	github.com/ternmq/mqtt v0.0.0
)

replace github.com/ternmq/mqtt => ../
