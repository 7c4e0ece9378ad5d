-- POST one form body again and again (client_credentials, introspection).
-- Arguments: the urlencoded body, then request headers.
function init(args)
  wrk.method = "POST"
  wrk.body = args[1]
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  add_headers(args, 2)
end
