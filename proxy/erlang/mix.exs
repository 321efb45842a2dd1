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
      # No :warnings_as_errors, as in rebar.config: a dependent's build must not stop
      # at a warning a newer OTP adds; CI builds strictly on every supported OTP.
      erlc_options: [:debug_info],
      deps: []
    ]
  end

  def application do
    [extra_applications: [:kernel, :stdlib]]
  end
end
