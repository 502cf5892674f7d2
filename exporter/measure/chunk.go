package measure

// chunkInfo is what timing needs from one OpenAI response object (an SSE
// event's data, or a whole non-streamed body).
type chunkInfo struct {
	token      bool // carries content, reasoning or a tool call (or, for embeddings, data)
	hasUsage   bool
	prompt     int64
	completion int64
	isErr      bool
	errCode    int64  // numeric "code" of an error object, 0 when absent or not a number
	errMsg     []byte // raw (still JSON-escaped) message, aliasing the input
}

func keyIs(k []byte, s string) bool { return string(k) == s }

// parseChunk reads the fields of b that timing needs and validates the rest.
// It returns false when b is not a single JSON object.
func parseChunk(b []byte, api API, ci *chunkInfo) bool {
	*ci = chunkInfo{}
	it, ok := openObject(b, 0, 0)
	if !ok {
		return false
	}
	objectError := false
	for {
		k, v, ok := it.next()
		if !ok {
			break
		}
		switch {
		case keyIs(k, "choices"):
			if !it.done(parseChoices(b, v, ci)) {
				return false
			}
		case keyIs(k, "usage"):
			if !it.done(parseUsage(b, v, ci)) {
				return false
			}
		case keyIs(k, "text") && api == APITranscriptions:
			// A transcription body: the text is the output.
			nonEmpty, end := stringNonEmpty(b, v, 1)
			ci.token = ci.token || nonEmpty
			if !it.done(end) {
				return false
			}
		case keyIs(k, "data") && api == APIEmbeddings:
			// An embeddings body: data is a non-empty list of vectors.
			end := skipValue(b, v, 1)
			if end > v && b[v] == '[' && skipWS(b, v+1) < end-1 {
				ci.token = true
			}
			if !it.done(end) {
				return false
			}
		case keyIs(k, "error"):
			if b[v] == 'n' { // null: no error
				if !it.skip(v) {
					return false
				}
				continue
			}
			ci.isErr = true
			if b[v] == '{' {
				if !it.done(parseError(b, v, ci)) {
					return false
				}
			} else {
				end := skipValue(b, v, 1)
				if end > v && b[v] == '"' {
					ci.errMsg = b[v+1 : end-1]
				}
				if !it.done(end) {
					return false
				}
			}
		case keyIs(k, "object"):
			end := skipValue(b, v, 1)
			if end > 0 && string(b[v:end]) == `"error"` {
				objectError = true
			}
			if !it.done(end) {
				return false
			}
		case keyIs(k, "message"), keyIs(k, "code"):
			// Top-level message/code belong to vLLM's older ErrorResponse
			// shape ({"object":"error","message":...,"code":400}).
			end := readErrField(b, k, v, ci)
			if !it.done(end) {
				return false
			}
		default:
			if !it.skip(v) {
				return false
			}
		}
	}
	if it.bad {
		return false
	}
	if objectError {
		ci.isErr = true
	} else if !ci.isErr {
		ci.errCode, ci.errMsg = 0, nil
	}
	// Nothing but whitespace may follow the object.
	return skipWS(b, it.i) == len(b)
}

func readErrField(b []byte, k []byte, v int, ci *chunkInfo) int {
	end := skipValue(b, v, 1)
	if end < 0 {
		return -1
	}
	if keyIs(k, "message") && b[v] == '"' {
		ci.errMsg = b[v+1 : end-1]
	}
	if keyIs(k, "code") {
		if n, _, ok := readInt(b, v); ok {
			ci.errCode = n
		}
	}
	return end
}

func parseError(b []byte, i int, ci *chunkInfo) int {
	it, ok := openObject(b, i, 1)
	if !ok {
		return -1
	}
	for {
		k, v, ok := it.next()
		if !ok {
			break
		}
		if keyIs(k, "message") || keyIs(k, "code") {
			if !it.done(readErrField(b, k, v, ci)) {
				return -1
			}
			continue
		}
		if !it.skip(v) {
			return -1
		}
	}
	if it.bad {
		return -1
	}
	return it.i
}

func parseUsage(b []byte, i int, ci *chunkInfo) int {
	if b[i] == 'n' {
		return skipValue(b, i, 1)
	}
	it, ok := openObject(b, i, 1)
	if !ok {
		return -1
	}
	for {
		k, v, ok := it.next()
		if !ok {
			break
		}
		var dst *int64
		switch {
		case keyIs(k, "prompt_tokens"):
			dst = &ci.prompt
		case keyIs(k, "completion_tokens"):
			dst = &ci.completion
		}
		if dst != nil && b[v] != 'n' {
			n, end, ok := readInt(b, v)
			if !ok {
				return -1
			}
			// Usage counts tokens only when it has a token count (a
			// transcription's usage is {"type":"duration","seconds":N}).
			ci.hasUsage = true
			*dst = n
			it.done(end)
			continue
		}
		if !it.skip(v) {
			return -1
		}
	}
	if it.bad {
		return -1
	}
	return it.i
}

func parseChoices(b []byte, i int, ci *chunkInfo) int {
	if b[i] == 'n' {
		return skipValue(b, i, 1)
	}
	arr, ok := openArray(b, i, 1)
	if !ok {
		return -1
	}
	for {
		v, ok := arr.next()
		if !ok {
			break
		}
		if !arr.done(parseChoice(b, v, ci)) {
			return -1
		}
	}
	if arr.bad {
		return -1
	}
	return arr.i
}

func parseChoice(b []byte, i int, ci *chunkInfo) int {
	it, ok := openObject(b, i, 2)
	if !ok {
		return -1
	}
	for {
		k, v, ok := it.next()
		if !ok {
			break
		}
		switch {
		case keyIs(k, "delta"), keyIs(k, "message"):
			if b[v] == '{' {
				if !it.done(parseDelta(b, v, ci)) {
					return -1
				}
				continue
			}
		case keyIs(k, "text"):
			nonEmpty, end := stringNonEmpty(b, v, 3)
			if nonEmpty {
				ci.token = true
			}
			if !it.done(end) {
				return -1
			}
			continue
		}
		if !it.skip(v) {
			return -1
		}
	}
	if it.bad {
		return -1
	}
	return it.i
}

// parseDelta reads a chat delta (or a non-streamed message): a token is
// content, reasoning or a tool call; a role alone is not.
func parseDelta(b []byte, i int, ci *chunkInfo) int {
	it, ok := openObject(b, i, 3)
	if !ok {
		return -1
	}
	for {
		k, v, ok := it.next()
		if !ok {
			break
		}
		switch {
		case keyIs(k, "content"), keyIs(k, "reasoning_content"), keyIs(k, "reasoning"), keyIs(k, "refusal"):
			nonEmpty, end := stringNonEmpty(b, v, 4)
			if nonEmpty {
				ci.token = true
			}
			if !it.done(end) {
				return -1
			}
		case keyIs(k, "tool_calls"), keyIs(k, "function_call"):
			end := skipValue(b, v, 4)
			if end > v && (b[v] == '[' && skipWS(b, v+1) < end-1 || b[v] == '{') {
				ci.token = true
			}
			if !it.done(end) {
				return -1
			}
		default:
			if !it.skip(v) {
				return -1
			}
		}
	}
	if it.bad {
		return -1
	}
	return it.i
}
