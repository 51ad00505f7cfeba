#!/usr/bin/perl
# Helpers for pg_core_regress.sh around one psql quirk. psql 15.20 (newer than the 15.18 suite
# Debian ships as source) skips script input after a `COPY … FROM STDIN` that fails before the
# copy starts, up to the next `\.` line. The 15.18 suite has COPYs that are expected to fail
# that way with no data of their own, so the newer psql would silently swallow the statements
# after them (often up to another COPY's terminator, far below).
#
#   suite.pl patch DIR      insert a `\.` line after each such COPY in DIR/sql/*.sql. Which
#                           COPYs fail before starting is read from DIR/expected/*.out (15.18's
#                           own output: an ERROR right after the echoed COPY, then the script's
#                           next line echoed as a statement). With the `\.` right after it, the
#                           newer psql skips nothing more, and whatever follows is read as SQL
#                           again, as 15.18's psql did (36 COPYs in 15.18). Prints them.
#   suite.pl complete SQL OUT EXPECTED…
#                           checks that OUT is as complete as one of the suite's own expected
#                           outputs EXPECTED… (the test's alternatives): every line of the script
#                           SQL that psql read as a statement there (echoed; not COPY data, not
#                           read while ECHO was off, not after a \quit) must be echoed in OUT
#                           too, in order. Prints the first line that is not and exits 1, so a
#                           test that lost statements fails the gate.
use strict;
use warnings;

# How many COPY … FROM STDIN (or STDOUT, which psql reads the same way) a line starts (or,
# after psql's `\;`, continues with).
sub copies_from_stdin {
    my ($line) = @_;
    my $n = () = $line =~ /(?:^|\\;)\s*\\?copy\b[^;]*?\bfrom\s+std(?:in|out)\b/gi;
    return $n;
}

# The index of the first element of @$lines from $from on that equals $wanted, or undef.
sub find_from {
    my ($lines, $from, $wanted) = @_;
    for my $i ($from .. $#$lines) {
        return $i if $lines->[$i] eq $wanted;
    }
    return undef;
}

# Like find_from, but a psql command (a line starting with a backslash) may also end an output
# line: what `\echo -n` printed before it has no newline.
sub find_echo {
    my ($lines, $from, $wanted) = @_;
    my $command = substr($wanted, 0, 1) eq '\\';
    for my $i ($from .. $#$lines) {
        my $line = $lines->[$i];
        return $i if $line eq $wanted || ($command && substr($line, -length($wanted)) eq $wanted);
    }
    return undef;
}

sub first_nonempty {
    my ($lines, $from) = @_;
    for my $i ($from .. $#$lines) {
        return $lines->[$i] if $lines->[$i] ne '';
    }
    return undef;
}

sub read_lines {
    my ($path) = @_;
    open(my $fh, '<', $path) or die "cannot read $path: $!\n";
    my @lines = <$fh>;
    close $fh;
    chomp @lines;
    return @lines;
}

sub patch {
    my ($dir) = @_;
    my $patched = 0;
    opendir(my $dh, "$dir/sql") or die "cannot list $dir/sql: $!\n";
    for my $file (sort grep { /\.sql$/ } readdir $dh) {
        (my $test = $file) =~ s/\.sql$//;
        my $expected = "$dir/expected/$test.out";
        next unless -f $expected;
        my @sql = read_lines("$dir/sql/$file");
        my @out = read_lines($expected);
        my ($at, @result) = (0);
        for my $i (0 .. $#sql) {
            push @result, $sql[$i];
            next unless copies_from_stdin($sql[$i]) == 1;
            my $echo = find_from(\@out, $at, $sql[$i]);
            next unless defined $echo;
            $at = $echo + 1;
            # Failed before starting: an ERROR right after the echo, and psql went on reading
            # the next lines as statements (echoed). A COPY that fails once started (COPY
            # FREEZE's checks, bad data) has had its data consumed, which the newer psql does too.
            my $following = first_nonempty(\@sql, $i + 1);
            next unless ($out[$echo + 1] // '') =~ /^ERROR:/ && defined $following && $following ne '\.';
            # (a `\.` right after it: already terminated, by us on an earlier run or by the suite)
            my $last = $echo + 8 > $#out ? $#out : $echo + 8;
            next unless grep { $_ eq $following } @out[$echo + 2 .. $last];
            push @result, '\.';
            $patched++;
            print "$test:", $i + 1, ": $sql[$i]\n";
        }
        open(my $fh, '>', "$dir/sql/$file") or die "cannot write $dir/sql/$file: $!\n";
        print $fh map { "$_\n" } @result;
        close $fh;
    }
    print "patched $patched COPY statements\n";
}

# The lines of @$sql that @$expected echoes, in order: the statements psql read.
sub statement_lines {
    my ($sql, $expected) = @_;
    my ($at, @statements) = (0);
    for my $line (@$sql) {
        # psql drops empty lines before echoing; a `\.` proves nothing either way
        next if $line eq '' || $line eq '\.';
        my $found = find_echo($expected, $at, $line);
        next unless defined $found;
        $at = $found + 1;
        push @statements, $line;
    }
    return @statements;
}

# The first of @$statements that @$out does not echo (in order), or undef.
sub first_missing {
    my ($statements, $out) = @_;
    my $at = 0;
    for my $line (@$statements) {
        my $found = find_echo($out, $at, $line);
        return $line unless defined $found;
        $at = $found + 1;
    }
    return undef;
}

sub complete {
    my ($sql_path, $out_path, @expected_paths) = @_;
    my @sql = read_lines($sql_path);
    my @out = read_lines($out_path);
    my $missing;
    for my $expected_path (@expected_paths) {
        my @expected = read_lines($expected_path);
        my @statements = statement_lines(\@sql, \@expected);
        my $first = first_missing(\@statements, \@out);
        return unless defined $first;
        $missing //= $first;
    }
    print "$out_path: not echoed: $missing\n";
    exit 1;
}

my $command = shift // '';
if ($command eq 'patch' && @ARGV == 1) {
    patch(@ARGV);
} elsif ($command eq 'complete' && @ARGV >= 3) {
    complete(@ARGV);
} else {
    die "usage: suite.pl patch DIR | suite.pl complete SQL OUT EXPECTED...\n";
}
