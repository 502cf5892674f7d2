package compare

import "strings"

// invalidity sorts the invalid reasons of a side's runs by the component at
// fault. Client-bound reasons (our sender was late, dropped sends, an
// achieved rate below the schedule) make the level's figures a measurement
// of the load generator. Too few samples is a property of one figure (a
// percentile), which the sample rule of that figure handles; a saturated
// server is the server's own behaviour and is judged like any other. Every
// other reason (errors, an early stop, a short window) is kept in other.
func invalidity(rs []run) (client, other []string) {
	seen := map[string]bool{}
	for _, r := range rs {
		if r.b.Valid {
			continue
		}
		for _, why := range r.b.InvalidReasons {
			if seen[why] {
				continue
			}
			seen[why] = true
			l := strings.ToLower(why)
			switch {
			case strings.HasPrefix(l, "client-bound"):
				client = append(client, why)
			case strings.HasPrefix(l, "too few samples"), strings.Contains(l, "saturat"):
			default:
				other = append(other, why)
			}
		}
		if len(r.b.InvalidReasons) == 0 && !seen[""] {
			seen[""] = true
			other = append(other, "invalid, no reason given")
		}
	}
	return client, other
}
