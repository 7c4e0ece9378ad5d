-- GET the URL; arguments: request headers ("Authorization: Bearer …").
function init(args)
  add_headers(args, 1)
end
