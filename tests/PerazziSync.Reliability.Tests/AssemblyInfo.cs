using Xunit;

// Each class here loads the machine on purpose; one at a time keeps their time bounds honest.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
