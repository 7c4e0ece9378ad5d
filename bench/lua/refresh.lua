-- Refresh-token rotation, as a client does it: each refresh token is used once, and
-- the one that comes back is used next. Each thread starts from its own share of a
-- file of fresh refresh tokens (at least one per connection). Arguments: the file,
-- the number of wrk threads, the body template ("{}" is the token), request headers.
local pool, template = {}, nil

function init(args)
  local threads, line_number = tonumber(args[2]), 0
  for line in io.lines(args[1]) do
    if line ~= "" then
      if line_number % threads == thread_index then table.insert(pool, line) end
      line_number = line_number + 1
    end
  end
  template = args[3]
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  add_headers(args, 4)
end

function request()
  local token = table.remove(pool)
  if token == nil then return out_of_values() end
  first_request = first_request or now()
  return wrk.format(nil, nil, nil, (template:gsub("{}", token)))
end

function response(status, headers, body)
  count(status)
  local token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
  if token then table.insert(pool, token) end
end
