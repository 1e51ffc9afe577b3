// The exercise page: inspections used against the budget, the time left (the form submits itself at zero),
// and the seconds each decision took (from the page's opening to the declaration's last lane change).
(function () {
  var form = document.getElementById("play");
  if (!form) return;
  var opened = Date.now();
  var budget = document.getElementById("budget");
  var finish = document.getElementById("finish");
  var limit = parseInt(budget.dataset.budget, 10);
  function count() {
    var used = form.querySelectorAll("input[type=radio][value=red]:checked").length;
    budget.textContent = used + " of " + limit + " inspections used";
    budget.classList.toggle("over", used > limit);
    finish.disabled = used > limit;
  }
  form.addEventListener("change", function (event) {
    var input = event.target;
    if (input.type === "radio" && input.name.indexOf("lane-") === 0) {
      var lrn = input.name.slice(5);
      form.querySelector("input[name='seconds-" + lrn + "']").value = ((Date.now() - opened) / 1000).toFixed(1);
      count();
    }
  });
  count();
  var timer = document.getElementById("timer");
  if (timer) {
    var end = new Date(timer.dataset.started).getTime() + parseInt(timer.dataset.seconds, 10) * 1000;
    var tick = function () {
      var left = Math.max(0, Math.round((end - Date.now()) / 1000));
      timer.textContent = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
      if (left === 0) { finish.disabled = false; form.submit(); return; }
      setTimeout(tick, 1000);
    };
    tick();
  }
})();
