-- POST a form body with a single-use value (an authorization code) in place of "{}":
-- each value once. Arguments: the file of values (one a line), the number of wrk
-- threads (each takes every n-th line), the body template, then request headers.
local values, position, template = {}, 1, nil

function init(args)
  local threads, line_number = tonumber(args[2]), 0
  for line in io.lines(args[1]) do
    if line ~= "" then
      if line_number % threads == thread_index then table.insert(values, line) end
      line_number = line_number + 1
    end
  end
  template = args[3]
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  add_headers(args, 4)
end

function request()
  local value = values[position]
  if value == nil then return out_of_values() end
  position = position + 1
  first_request = first_request or now()
  return wrk.format(nil, nil, nil, (template:gsub("{}", value)))
end
