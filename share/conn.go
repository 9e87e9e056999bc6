package share

import (
	"context"

	"github.com/ternmq/mqtt"
)

// Conn is what a program needs of its broker connection: publish,
// subscribe, unsubscribe, connection events, and an end. Both the primary's
// *mqtt.Client and a *Secondary satisfy it, so code written against Conn
// moves between the process that owns the connection and one that shares
// it without change.
type Conn interface {
	Publish(ctx context.Context, m *mqtt.Message) error
	PublishAsync(m *mqtt.Message) *mqtt.Completion
	Subscribe(ctx context.Context, h mqtt.Handler, subs ...mqtt.Subscription) ([]mqtt.SubResult, error)
	Unsubscribe(ctx context.Context, filters ...string) ([]mqtt.SubResult, error)
	Notify(f func(mqtt.Event)) (stop func())
	Disconnect(ctx context.Context) error
	Close() error
}

var (
	_ Conn = (*mqtt.Client)(nil)
	_ Conn = (*Secondary)(nil)
)
