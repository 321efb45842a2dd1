# A mix release whose node clusters through a distls sidecar (docs/erlang.md).
defmodule Demo.MixProject do
  use Mix.Project

  def project do
    [
      app: :demo,
      version: "0.1.0",
      elixir: "~> 1.14",
      start_permanent: Mix.env() == :prod,
      deps: deps(),
      releases: [demo: [include_executables_for: [:unix]]]
    ]
  end

  def application do
    [extra_applications: [:logger], mod: {Demo.Application, []}]
  end

  defp deps do
    [
      # The Erlang side of distls (distls_dist, distls_epmd, distls_discovery) is the
      # proxy/erlang directory of the distls repository. Point this at where your copy
      # lives and pin a tag; or use a local checkout: {:distls, path: ".../proxy/erlang"}.
      {:distls, git: "https://git.example.com/distls.git", branch: "main", sparse: "proxy/erlang"}
    ]
  end
end
