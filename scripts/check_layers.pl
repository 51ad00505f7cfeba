#!/usr/bin/env perl
# The layer check (scripts/test.sh runs it; it counts as one test). src/ is built in layers,
# top to bottom:
#
#   lib.rs, worker.rs  ->  api/  ->  guard/  ->  trail/  ->  pg/  ->  policy/
#
# A module may import a module of a lower layer, or of its own folder, and nothing else: no
# import from a lower layer to a higher one, and no import cycle between modules (a file is a
# module; a folder's mod.rs is the folder's). Imports are what the code names with `crate::`:
# `use crate::…` trees (braces expanded), `crate::a::b` paths written inline, and in lib.rs its
# own modules named bare (`guard::hooks::install()`). `super::` is allowed only as a test
# module's `use super::*`, so that no import escapes the check.
#
# Usage: perl scripts/check_layers.pl [SRC_DIR]   (default: src/ next to this script)
# Prints the folder graph and `ok`, or each breach and `not ok`; exits 1 on a breach.
use strict;
use warnings;
use File::Basename qw(dirname);

my $src = shift // dirname(__FILE__) . '/../src';
my %RANK = (policy => 0, pg => 1, trail => 2, guard => 3, api => 4);
my $TOP = 5; # the crate root's own files: lib.rs, worker.rs
my @ORDER = ('(root)', 'api', 'guard', 'trail', 'pg', 'policy');

# module name of a file: lib.rs -> crate, worker.rs -> worker, api/mod.rs -> api, api/x.rs -> api::x
sub module_of {
    my ($rel) = @_;
    return 'crate' if $rel eq 'lib.rs';
    $rel =~ s/\.rs$//;
    $rel =~ s{/mod$}{};
    $rel =~ s{/}{::}g;
    return $rel;
}
sub folder_of { my ($m) = @_; my ($first) = split /::/, $m; return exists $RANK{$first} ? $first : '(root)'; }
sub rank_of { my ($m) = @_; my $f = folder_of($m); return $f eq '(root)' ? $TOP : $RANK{$f}; }

# Code without comments, string and char literals (so that text never reads as an import).
sub code_only {
    my ($text) = @_;
    my $out = '';
    my $i = 0;
    my $n = length $text;
    while ($i < $n) {
        my $rest = substr($text, $i, 3);
        if ($rest =~ m{^//}) {
            my $end = index($text, "\n", $i);
            $i = $end < 0 ? $n : $end;
        } elsif ($rest =~ m{^/\*}) {
            my $end = index($text, '*/', $i + 2);
            $i = $end < 0 ? $n : $end + 2;
        } elsif (substr($text, $i) =~ /^(r(#*)")/) {
            my $close = '"' . $2;
            my $end = index($text, $close, $i + length $1);
            $i = $end < 0 ? $n : $end + length $close;
            $out .= '""';
        } elsif ($rest =~ /^"/) {
            my $j = $i + 1;
            while ($j < $n && substr($text, $j, 1) ne '"') { $j += substr($text, $j, 1) eq '\\' ? 2 : 1; }
            $i = $j + 1;
            $out .= '""';
        } elsif (substr($text, $i, 4) =~ /^'(\\.|[^'\\])'/) {
            $i += length($1) + 2;
            $out .= "' '";
        } else {
            $out .= substr($text, $i, 1);
            $i++;
        }
    }
    return $out;
}

# `a::{b, c::{d, e}}` -> a::b, a::c::d, a::c::e (self -> the prefix itself; `as` names dropped)
sub expand_tree {
    my ($prefix, $tree) = @_;
    $tree =~ s/^\s+|\s+$//g;
    if ($tree =~ /^(.*?)\{(.*)\}$/s) {
        my ($head, $inner) = ($1, $2);
        $head =~ s/::\s*$//;
        my $base = $head eq '' ? $prefix : ($prefix eq '' ? $head : "${prefix}::$head");
        my @items;
        my ($depth, $cur) = (0, '');
        for my $ch (split //, $inner) {
            $depth++ if $ch eq '{';
            $depth-- if $ch eq '}';
            if ($ch eq ',' && $depth == 0) { push @items, $cur; $cur = ''; } else { $cur .= $ch; }
        }
        push @items, $cur if $cur =~ /\S/;
        return map { expand_tree($base, $_) } grep { /\S/ } @items;
    }
    $tree =~ s/\s+as\s+\w+$//;
    $tree =~ s/\s+//g;
    return ($prefix) if $tree eq 'self';
    return ($prefix eq '' ? $tree : "${prefix}::$tree");
}

my (%file_of, %text_of);
sub read_dir {
    my ($dir) = @_;
    opendir my $dh, $dir or die "check_layers: $dir: $!\n";
    for my $entry (sort grep { !/^\./ } readdir $dh) {
        my $path = "$dir/$entry";
        if (-d $path) { read_dir($path); next; }
        next unless $entry =~ /\.rs$/;
        (my $rel = $path) =~ s{^\Q$src\E/}{};
        my $m = module_of($rel);
        $file_of{$m} = "src/$rel";
        open my $fh, '<', $path or die "check_layers: $path: $!\n";
        local $/;
        $text_of{$m} = code_only(<$fh>);
    }
}
read_dir($src);
die "check_layers: no Rust files under $src\n" unless %file_of;

# the known module a path names: its longest prefix that is a module
sub target_of {
    my ($path) = @_;
    my @parts = split /::/, $path;
    while (@parts) {
        my $m = join '::', @parts;
        return $m if exists $file_of{$m} && $m ne 'crate';
        pop @parts;
    }
    return undef;
}

my (%edges, %names, @breaches);
for my $m (sort keys %text_of) {
    my $code = $text_of{$m};
    my @paths;
    while ($code =~ /\buse\s+crate::([^;]*);/g) { push @paths, expand_tree('', $1); }
    (my $inline = $code) =~ s/\buse\s+crate::[^;]*;//g;
    while ($inline =~ /\bcrate((?:::\w+)+)/g) { (my $p = $1) =~ s/^:://; push @paths, $p; }
    if ($m eq 'crate') { # the crate root names its own modules without `crate::`
        my @mods = $code =~ /^\s*(?:pub\s+)?mod\s+(\w+)\s*;/mg;
        for my $mod (@mods) { while ($inline =~ /(?<![\w:])(\Q$mod\E(?:::\w+)+)/g) { push @paths, $1; } }
    }
    (my $supers = $code) =~ s/\buse\s+super::\*\s*;//g;
    push @breaches, "$file_of{$m}: uses super:: (name modules by their crate:: path)" if $supers =~ /\bsuper::/;
    for my $path (@paths) {
        my $t = target_of($path);
        if (!defined $t) {
            push @breaches, "$file_of{$m}: crate::$path names no module under src/ (nothing imports from lib.rs)";
            next;
        }
        next if $t eq $m;
        $edges{$m}{$t} = 1;
        $names{"$m $t"} = $path;
    }
}

# upward imports
for my $m (sort keys %edges) {
    for my $t (sort keys %{ $edges{$m} }) {
        next if $t eq 'worker' && $m eq 'crate';
        if (rank_of($t) > rank_of($m) || $t eq 'worker' || $t eq 'crate') {
            push @breaches, sprintf("upward import: %s (%s) uses crate::%s (%s)",
                $file_of{$m}, folder_of($m), $names{"$m $t"}, folder_of($t));
        }
    }
}

# import cycles: strongly connected components of more than one module (Tarjan)
my ($index, %idx, %low, %on, @stack, @cycles) = (0);
sub strongconnect {
    my ($v) = @_;
    $idx{$v} = $low{$v} = $index++;
    push @stack, $v;
    $on{$v} = 1;
    for my $w (sort keys %{ $edges{$v} // {} }) {
        if (!exists $idx{$w}) { strongconnect($w); $low{$v} = $low{$w} if $low{$w} < $low{$v}; }
        elsif ($on{$w}) { $low{$v} = $idx{$w} if $idx{$w} < $low{$v}; }
    }
    if ($low{$v} == $idx{$v}) {
        my @scc;
        while (1) { my $w = pop @stack; $on{$w} = 0; push @scc, $w; last if $w eq $v; }
        push @cycles, [sort @scc] if @scc > 1;
    }
}
for my $v (sort keys %file_of) { strongconnect($v) unless exists $idx{$v}; }
for my $scc (@cycles) {
    my %in = map { $_ => 1 } @$scc;
    my @ties = map { my $m = $_; map { "$m -> $_" } grep { $in{$_} } sort keys %{ $edges{$m} } } @$scc;
    push @breaches, "import cycle between " . join(', ', map { $file_of{$_} } @$scc) . ": " . join('; ', @ties);
}

# the folder graph, top down
my %folder_edges;
for my $m (keys %edges) {
    for my $t (keys %{ $edges{$m} }) {
        my ($fm, $ft) = (folder_of($m), folder_of($t));
        $folder_edges{$fm}{$ft} = 1 unless $fm eq $ft;
    }
}
my $imports = 0;
$imports += keys %{ $edges{$_} } for keys %edges;
print "layers: lib.rs, worker.rs -> api -> guard -> trail -> pg -> policy\n";
for my $f (@ORDER) {
    my @to = grep { $folder_edges{$f}{$_} } @ORDER;
    printf "  %-7s imports %s\n", $f, @to ? join(' ', @to) : 'nothing of this crate';
}
if (@breaches) {
    print "  $_\n" for @breaches;
    printf "not ok - layers: %d breach%s in %d modules, %d imports\n", scalar @breaches, @breaches == 1 ? '' : 'es', scalar keys %file_of, $imports;
    exit 1;
}
printf "ok - layers: %d modules, %d imports, none upward, no cycle\n", scalar keys %file_of, $imports;
