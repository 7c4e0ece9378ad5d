-- Mint authorization codes through the real authorization endpoint: a logged-in
-- browser (its session cookie) asks again and again; every code in a redirect is
-- appended to "<file>.<thread>". Arguments: the file prefix, a tag unique to this
-- run (nonces must never repeat for a client), the query without nonce and state,
-- then request headers (the Cookie).
local out, tag, query, serial = nil, nil, nil, 0

function init(args)
  out = io.open(args[1] .. "." .. thread_index, "w")
  tag, query = args[2], args[3]
  add_headers(args, 4)
end

function request()
  serial = serial + 1
  local unique = tag .. "-" .. thread_index .. "-" .. serial
  return wrk.format("GET", "/oauth/authorize?" .. query .. "&nonce=n" .. unique .. "&state=s" .. unique)
end

function response(status, headers, body)
  count(status)
  local location = headers["Location"] or headers["location"] or ""
  local code = location:match("[?&]code=([^&]+)")
  if code then
    out:write(code, "\n")
    out:flush()
  end
end
