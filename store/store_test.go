package store_test

import (
	"fmt"
	"log"
	"os"

	mqtt "github.com/ternmq/mqtt"
	"github.com/ternmq/mqtt/store"
)

var _ mqtt.Store = (*store.File)(nil)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "session")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	st, err := store.Open(dir, store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	st.Put(2, []byte("second"))
	st.Put(1, []byte("first"))
	st.Delete(2)
	if err := st.Sync(); err != nil { // durable from here on
		log.Fatal(err)
	}
	st.Close()

	st, err = store.Open(dir, store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	fmt.Printf("%+v\n", st.Recovery())
	st.Load(func(key uint64, data []byte) error {
		fmt.Println(key, string(data))
		return nil
	})
	// Output:
	// {Records:3 Live:1 TornBytes:0 Quarantined:0 QuarantinedBytes:0 QuarantineFile: Compacted:false}
	// 1 first
}
