namespace System.Runtime.CompilerServices;

/// <summary>Lets netstandard2.0 code declare records and init accessors (the type ships with .NET 5+ only).</summary>
internal static class IsExternalInit
{
}
