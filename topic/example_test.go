package topic_test

import (
	"errors"
	"fmt"

	"github.com/ternmq/mqtt/topic"
)

func ExampleMatch() {
	fmt.Println(topic.Match("sport/tennis/player1/#", "sport/tennis/player1"))
	fmt.Println(topic.Match("sport/+", "sport"))
	fmt.Println(topic.Match("sport/+", "sport/"))
	fmt.Println(topic.Match("+/+", "/finance"))
	fmt.Println(topic.Match("#", "$SYS/uptime"))
	fmt.Println(topic.Match("$share/consumer1/sport/tennis/+", "sport/tennis/player2"))
	// Output:
	// true
	// false
	// true
	// true
	// false
	// true
}

func ExampleCheckFilter() {
	for _, f := range []string{"sport/tennis/#", "sport/tennis#", "$share/g/#", "$share/g"} {
		err := topic.CheckFilter(f)
		fmt.Printf("%-16q %v\n", f, err)
		if errors.Is(err, topic.ErrBadWildcard) {
			fmt.Println("  (a wildcard must occupy a whole level)")
		}
	}
	// Output:
	// "sport/tennis/#" <nil>
	// "sport/tennis#"  mqtt: topic filter has a misplaced wildcard: filter "sport/tennis#" at byte 12
	//   (a wildcard must occupy a whole level)
	// "$share/g/#"     <nil>
	// "$share/g"       mqtt: malformed shared subscription filter: filter "$share/g" at byte 8
}
