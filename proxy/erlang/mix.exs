# Mix builds this directory as the `distls` application: the same Erlang sources
# rebar3 and CMake build, no Elixir code. See docs/erlang.md.
defmodule Distls.MixProject do
  use Mix.Project

  def project do
    [
      app: :distls,
      version: "0.1.0",
      language: :erlang,
      erlc_paths: ["."],
      erlc_options: [:debug_info, :warnings_as_errors],
      deps: []
    ]
  end

  def application do
    [extra_applications: [:kernel, :stdlib]]
  end
end
