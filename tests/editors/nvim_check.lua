-- Headless Neovim 0.11 against spark-lsp and the simulator: the configuration documented in
-- docs/editors.md, then a completion (Neovim 0.11 has no inline completion, so the server offers
-- its completion fallback), a hover and a code action. Results go to $SPARK_NVIM_RESULT as JSON;
-- a part the server does not advertise is reported as {skipped = reason}.
local env = vim.env
local results = {}
local function finish()
  local file = assert(io.open(env.SPARK_NVIM_RESULT, 'w'))
  file:write(vim.json.encode(results))
  file:close()
  vim.cmd('qa!')
end

local statuses = {}
-- The documented configuration, with the simulator's endpoints in cmd_env.
vim.lsp.config('spark_lsp', {
  cmd = { env.SPARK_PYTHON, '-m', 'spark_lsp', 'serve' },
  cmd_env = {
    CEREBRAS_API_KEY = 'sim-key',
    CEREBRAS_BASE_URL = env.SPARK_FAST_URL,
    SPARK_LSP_GPU_BASE_URL = env.SPARK_GPU_URL .. '/v1',
    SPARK_LSP_GPU_API_KEY = 'sim-gpu-key',
  },
  filetypes = { 'python' },
  root_markers = { '.git', 'pyproject.toml' },
  settings = {
    sparkLsp = {
      fastModel = 'sim-spark-coder',
      gpuModel = 'sim-gpu-coder',
      inline = { prefetch = false },
      hover = { enabled = true },
    },
  },
  handlers = {
    ['spark/status'] = function(_, result)
      table.insert(statuses, result)
    end,
  },
})
vim.lsp.enable('spark_lsp')

vim.cmd.edit(env.SPARK_FILE)
local client
local started = vim.wait(20000, function()
  client = vim.lsp.get_clients({ bufnr = 0, name = 'spark_lsp' })[1]
  return client ~= nil and client.initialized == true
end, 50)
if not started then
  results.error = 'the spark_lsp client did not start'
  return finish()
end
local fast_ok = vim.wait(20000, function()
  local last = statuses[#statuses]
  return last ~= nil and last.tiers ~= nil and last.tiers.fast ~= nil and last.tiers.fast.state == 'ok'
end, 50)
results.status = statuses[#statuses]
if not fast_ok then
  results.error = 'the fast tier never reported ok: ' .. vim.inspect(statuses)
  return finish()
end

local function sim_script(text)
  -- Answer whatever the server asks either tier (through the simulator's control endpoint).
  local post = [[
import json, sys, urllib.request
for url in sys.argv[2:]:
    urllib.request.urlopen(urllib.request.Request(url + "/sim/script", method="DELETE"))
    body = json.dumps({"responses": [{"text": sys.argv[1], "repeat": -1}]}).encode()
    urllib.request.urlopen(urllib.request.Request(url + "/sim/script", data=body, headers={"content-type": "application/json"}))
]]
  local done = vim.system({ env.SPARK_PYTHON, '-c', post, text, env.SPARK_FAST_URL, env.SPARK_GPU_URL }):wait()
  assert(done.code == 0, done.stderr)
end

local function position_params(row, col)
  vim.api.nvim_win_set_cursor(0, { row, col })
  return vim.lsp.util.make_position_params(0, client.offset_encoding)
end

-- Completion: the server answers within its deadline; a suggestion still streaming arrives on
-- the client's next request (isIncomplete), so ask again as a completion menu would.
do
  sim_script('a + b')
  local params = position_params(2, 11)
  params.context = { triggerKind = 1 }
  local labels = {}
  for _ = 1, 20 do
    local response = client:request_sync('textDocument/completion', params, 5000, 0)
    local result = response and response.result
    local items = result and (result.items or result) or {}
    for _, item in ipairs(items) do
      table.insert(labels, item.textEdit and item.textEdit.newText or item.insertText or item.label)
    end
    if #labels > 0 then break end
    vim.wait(200)
  end
  results.completion = { ok = #labels > 0, items = labels }
end

local caps = client.server_capabilities
-- Hover is enabled through `settings` (pulled after initialize), so the server registers it
-- dynamically: wait for the registration rather than reading the static capabilities.
vim.wait(5000, function()
  return client:supports_method('textDocument/hover', 0)
end)
if client:supports_method('textDocument/hover', 0) then
  sim_script('Adds the two numbers a and b and returns their sum.')
  local response = client:request_sync('textDocument/hover', position_params(1, 5), 30000, 0)
  local hover = response and response.result
  local text = ''
  if hover then
    local contents = hover.contents
    if type(contents) == 'string' then text = contents
    elseif contents.value then text = contents.value
    else
      for _, part in ipairs(contents) do text = text .. (type(part) == 'string' and part or part.value or '') end
    end
  end
  results.hover = { ok = text:find('sum') ~= nil, text = text, error = response and response.err and vim.inspect(response.err) }
else
  results.hover = { skipped = 'the server did not offer textDocument/hover (static or registered)' }
end

if caps.codeActionProvider then
  -- The answer format of a quick-fix: the rewritten region in one fence.
  sim_script('```python\ndef add(a, b):\n    return a + b\n```')
  local range = { start = { line = 1, character = 4 }, ['end'] = { line = 1, character = 10 } }
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(0) },
    range = range,
    context = { diagnostics = { { range = range, message = 'missing return value', severity = 1, source = 'nvim' } }, triggerKind = 1 },
  }
  local response = client:request_sync('textDocument/codeAction', params, 30000, 0)
  local actions = (response and response.result) or {}
  local titles = {}
  for _, action in ipairs(actions) do table.insert(titles, action.title) end
  results.codeAction = { ok = #actions > 0, titles = titles, error = response and response.err and vim.inspect(response.err) }
else
  results.codeAction = { skipped = 'the server does not advertise codeActionProvider (textDocument/codeAction not implemented yet)' }
end

finish()
