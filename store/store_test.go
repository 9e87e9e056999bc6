package store_test

import (
	mqtt "github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/store"
)

var _ mqtt.Store = (*store.File)(nil)
